using System.Buffers.Binary;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;

namespace Traffic.Actors.Cluster;

/// <summary>
/// Binary serializer for the messages that cross between nodes (bound in code: <see cref="ClusterHosting.WithTrafficSerializer"/>).
/// A publish travels as the frame encoded at its origin: one byte of message type, one of topic,
/// then the frame's UTF-8 JSON as it is; the receiving node rebuilds the <see cref="ServerFrame"/>
/// around those bytes and every subscriber there gets that one instance. Entities travel as their
/// id and their pre-encoded JSON. Nothing goes through a general-purpose (JSON) serializer.
/// </summary>
public sealed class TrafficSerializer : SerializerWithStringManifest
{
    public const int SerializerId = 4_711;

    private const byte NoTopic = 0xFF;
    private const string PublishToTopicManifest = "PT";
    private const string PublishToAllManifest = "PA";
    private const string AnnounceHeadsManifest = "AH";
    private const string PublishEntitiesManifest = "PE";
    private const string PublishDataManifest = "PD";
    private const string ForwardedManifest = "FW";
    private const string ForwardedUpToManifest = "FU";
    private const string ReplaceTopicManifest = "RT";
    private const string RaiseAlertManifest = "RA";
    private const string TopicStateManifest = "TS";
    private const string StateVersionManifest = "SV";
    private const string GetFullStateManifest = "GF";
    private const string FullStateManifest = "FS";
    private const string GetStatsManifest = "GS";
    private const string StatsManifest = "ST";
    private const string HelloManifest = "HE";
    private const string SimulationClockManifest = "SC";
    // NGSI-LD ingest (docs/ngsi-ld.md): per-entity changes sent to the aggregator singleton from any node.
    private const string UpsertEntitiesManifest = "UE";
    private const string RemoveEntitiesManifest = "RE";
    private const string EntitiesAppliedManifest = "EA";
    private const string ConfirmKeptManifest = "CK";
    private const string KeptManifest = "KE";
    private const string NotKeptManifest = "NK";
    // Persistence (docs/architecture.md, "Persistence"): the journal's entries; its heads marks are AnnounceHeads.
    private const string JournalEntryManifest = "JE";

    public TrafficSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => o switch
    {
        RegistryCommands.PublishToTopic => PublishToTopicManifest,
        RegistryCommands.PublishToAll => PublishToAllManifest,
        RegistryCommands.AnnounceHeads => AnnounceHeadsManifest,
        SequencerCommands.PublishEntities => PublishEntitiesManifest,
        SequencerCommands.PublishData => PublishDataManifest,
        SequencerCommands.Forwarded => ForwardedManifest,
        SequencerCommands.ForwardedUpTo => ForwardedUpToManifest,
        AggregatorCommands.ReplaceTopic => ReplaceTopicManifest,
        AggregatorCommands.RaiseAlert => RaiseAlertManifest,
        StateReplication.TopicState => TopicStateManifest,
        StateReplication.StateVersion => StateVersionManifest,
        StateReplication.GetFullState => GetFullStateManifest,
        StateReplication.FullState => FullStateManifest,
        RegistryCommands.GetStats => GetStatsManifest,
        RegistryCommands.Stats => StatsManifest,
        ClusterFanOutActor.Hello => HelloManifest,
        SimulationClock => SimulationClockManifest,
        AggregatorCommands.UpsertEntities => UpsertEntitiesManifest,
        AggregatorCommands.RemoveEntities => RemoveEntitiesManifest,
        AggregatorCommands.EntitiesApplied => EntitiesAppliedManifest,
        AggregatorCommands.ConfirmKept => ConfirmKeptManifest,
        AggregatorCommands.Kept => KeptManifest,
        AggregatorCommands.NotKept => NotKeptManifest,
        StreamJournal.Entry => JournalEntryManifest,
        _ => throw new ArgumentException($"{nameof(TrafficSerializer)} cannot serialize {o.GetType()}", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        RegistryCommands.PublishToTopic p => Frame((byte)p.Topic, p.Frame),
        RegistryCommands.PublishToAll p => Frame(NoTopic, p.Frame),
        // [numbered at][publish topic][the frame, as a publish carries it]
        StreamJournal.Entry e => JournalEntry(e),
        RegistryCommands.AnnounceHeads a => Write(w =>
        {
            w.Int(a.Heads.Count);
            foreach (var head in a.Heads)
            {
                w.Byte(head is null ? (byte)0 : (byte)1);
                if (head is { } h) { w.Bytes(Encoding.ASCII.GetBytes(h.Epoch)); w.Long(h.Offset); }
            }
        }),
        SequencerCommands.PublishEntities p => Write(w => { w.Byte((byte)p.Topic); w.Entities(p.Entities); }),
        // [origin][number][reply-to path][manifest of the publish][the publish]
        SequencerCommands.Forwarded f => Write(w =>
        {
            w.Bytes(Encoding.UTF8.GetBytes(f.Origin));
            w.Long(f.Number);
            w.Long(f.OldestUnacknowledged);
            w.Bytes(Encoding.UTF8.GetBytes(Akka.Serialization.Serialization.SerializedActorPath(f.ReplyTo)));
            w.Bytes(Encoding.ASCII.GetBytes(Manifest(f.Publish)));
            w.Bytes(ToBinary(f.Publish));
        }),
        SequencerCommands.ForwardedUpTo a => Write(w => { w.Bytes(Encoding.UTF8.GetBytes(a.Origin)); w.Long(a.Number); }),
        SequencerCommands.PublishData p => Write(w =>
        {
            w.Byte((byte)p.Type);
            w.Byte(p.Topic is { } t ? (byte)t : NoTopic);
            w.Bytes(p.DataJson);
        }),
        AggregatorCommands.ReplaceTopic r => Write(w => { w.Byte((byte)r.Topic); w.Entities(r.Entities); }),
        AggregatorCommands.RaiseAlert a => Write(w => { w.Byte((byte)a.Topic); w.Bytes(a.DataJson); }),
        StateReplication.TopicState s => Write(w => { w.Long(s.Incarnation); w.Long(s.Version); w.Byte((byte)s.Topic); w.Entities(s.Entities); }),
        StateReplication.StateVersion v => Write(w => { w.Long(v.Incarnation); w.Long(v.Version); }),
        StateReplication.GetFullState => [],
        StateReplication.FullState f => Write(w =>
        {
            w.Long(f.Incarnation);
            w.Long(f.Version);
            w.Int(f.Topics.Count);
            foreach (var (topic, entities) in f.Topics) { w.Byte((byte)topic); w.Entities(entities); }
        }),
        RegistryCommands.GetStats => [],
        RegistryCommands.Stats s => Write(w =>
        {
            w.Int(s.Clients);
            w.Int(s.Subscribers.Count);
            foreach (var (topic, count) in s.Subscribers) { w.Byte((byte)topic); w.Int(count); }
        }),
        ClusterFanOutActor.Hello h => Encoding.UTF8.GetBytes(h.Node),
        SimulationClock c => Write(w => { w.Long(c.OriginUtcTicks); w.Long(c.Step); }),
        // [topic][mode][entities][alert count]{[id][condition][field][threshold][value count]{[value]}[data]}
        AggregatorCommands.UpsertEntities u => Write(w =>
        {
            w.Byte((byte)u.Topic);
            w.Byte((byte)u.Mode);
            w.Entities(u.Entities);
            w.Int(u.Alerts.Count);
            foreach (var alert in u.Alerts)
            {
                w.Text(alert.EntityId);
                w.Byte((byte)alert.Condition);
                w.Text(alert.Field);
                w.Long(BitConverter.DoubleToInt64Bits(alert.Threshold));
                var values = alert.Values ?? [];
                w.Int(values.Count);
                foreach (var value in values) w.Text(value);
                w.Bytes(alert.DataJson);
            }
        }),
        AggregatorCommands.RemoveEntities r => Write(w =>
        {
            w.Byte((byte)r.Topic);
            w.Int(r.Ids.Count);
            foreach (var id in r.Ids) w.Text(id);
        }),
        AggregatorCommands.EntitiesApplied => [],
        AggregatorCommands.ConfirmKept => [],
        AggregatorCommands.Kept => [],
        AggregatorCommands.NotKept n => Write(w => w.Text(n.Reason)),
        _ => throw new ArgumentException($"{nameof(TrafficSerializer)} cannot serialize {obj.GetType()}", nameof(obj)),
    };


    /// <summary>
    /// Every count and length is checked against the bytes left before anything is allocated, every
    /// enum byte against its defined values, and a message must end where its bytes do: a peer (or
    /// anyone who reaches the Akka port) cannot make this node allocate more than it sent, or read
    /// past it. A refusal is a <see cref="SerializationException"/>: Akka drops the message and logs it.
    /// </summary>
    public override object FromBinary(byte[] bytes, string manifest)
    {
        var r = new Reader(bytes, manifest);
        switch (manifest)
        {
            case PublishToTopicManifest:
            {
                var topic = r.Topic();
                return new RegistryCommands.PublishToTopic(topic, r.Frame());
            }
            case PublishToAllManifest:
                r.Byte();
                return new RegistryCommands.PublishToAll(r.Frame());
            case JournalEntryManifest:
            {
                var at = r.Long();
                var topic = r.OptionalTopic();
                var frame = r.Frame();
                if (frame.Sequence is null) throw r.Refuse("a journal entry without a position");
                return new StreamJournal.Entry(at, topic, frame);
            }
            case AnnounceHeadsManifest:
            {
                var heads = new StreamPosition?[r.Count(minBytesEach: 1)];
                for (var i = 0; i < heads.Length; i++)
                    if (r.Flag()) heads[i] = new StreamPosition(r.Ascii(), r.Long());
                return r.End(new RegistryCommands.AnnounceHeads(heads));
            }
            case ForwardedManifest:
            {
                var origin = r.Text();
                var number = r.Long();
                var oldest = r.Long();
                var replyTo = base.system.Provider.ResolveActorRef(r.Text());
                // One level: a forwarder forwards publishes (PE, PD), never another Forwarded.
                var manifestOfPublish = r.Ascii();
                if (manifestOfPublish is not (PublishEntitiesManifest or PublishDataManifest))
                    throw r.Refuse($"a Forwarded carrying \"{Printable(manifestOfPublish)}\", not a publish");
                var publish = FromBinary(r.Bytes(), manifestOfPublish);
                return r.End(new SequencerCommands.Forwarded(origin, number, oldest, publish, replyTo));
            }
            case ForwardedUpToManifest:
            {
                var origin = r.Text();
                return r.End(new SequencerCommands.ForwardedUpTo(origin, r.Long()));
            }
            case PublishEntitiesManifest:
            {
                var topic = r.Topic();
                return r.End(new SequencerCommands.PublishEntities(topic, r.Entities()));
            }
            case PublishDataManifest:
            {
                var type = r.MessageType();
                var topic = r.OptionalTopic();
                return r.End(new SequencerCommands.PublishData(type, topic, r.Bytes()));
            }
            case ReplaceTopicManifest:
            {
                var topic = r.Topic();
                return r.End(new AggregatorCommands.ReplaceTopic(topic, r.Entities()));
            }
            case RaiseAlertManifest:
            {
                var topic = r.Topic();
                return r.End(new AggregatorCommands.RaiseAlert(topic, r.Bytes()));
            }
            case TopicStateManifest:
            {
                var epoch = r.Long();
                var version = r.Long();
                var topic = r.Topic();
                return r.End(new StateReplication.TopicState(epoch, version, topic, r.Entities()));
            }
            case StateVersionManifest:
            {
                var epoch = r.Long();
                return r.End(new StateReplication.StateVersion(epoch, r.Long()));
            }
            case GetFullStateManifest:
                return r.End(StateReplication.GetFullState.Instance);
            case FullStateManifest:
            {
                var epoch = r.Long();
                var version = r.Long();
                var count = r.Count(minBytesEach: 1 + 4); // [topic][entity count]
                var topics = new Dictionary<Topic, IReadOnlyList<EntityJson>>(Math.Min(count, TopicCount));
                for (var i = 0; i < count; i++)
                {
                    var topic = r.Topic();
                    topics[topic] = r.Entities();
                }
                return r.End(new StateReplication.FullState(epoch, version, topics));
            }
            case SimulationClockManifest:
            {
                var origin = r.Long();
                return r.End(new SimulationClock(origin, r.Long()));
            }
            case GetStatsManifest:
                return r.End(RegistryCommands.GetStats.Instance);
            case StatsManifest:
            {
                var clients = r.Int();
                var count = r.Count(minBytesEach: 1 + 4); // [topic][subscribers]
                var subscribers = new Dictionary<Topic, int>(Math.Min(count, TopicCount));
                for (var i = 0; i < count; i++)
                {
                    var topic = r.Topic();
                    subscribers[topic] = r.Int();
                }
                return r.End(new RegistryCommands.Stats(clients, subscribers));
            }
            case HelloManifest:
                return new ClusterFanOutActor.Hello(Encoding.UTF8.GetString(bytes));
            case UpsertEntitiesManifest:
            {
                var topic = r.Topic();
                var mode = r.Mode();
                var entities = r.Entities();
                // [id length][condition][field length][threshold][value count][data length]
                var alerts = new AggregatorCommands.ConditionalAlert[r.Count(minBytesEach: 4 + 1 + 4 + 8 + 4 + 4)];
                for (var i = 0; i < alerts.Length; i++)
                {
                    var id = r.Text();
                    var condition = r.Condition();
                    var field = r.Text();
                    var threshold = BitConverter.Int64BitsToDouble(r.Long());
                    var values = new string[r.Count(minBytesEach: 4)]; // [value length]
                    for (var v = 0; v < values.Length; v++) values[v] = r.Text();
                    alerts[i] = new AggregatorCommands.ConditionalAlert(id, condition, field, threshold, r.Bytes(), values.Length == 0 ? null : values);
                }
                return r.End(new AggregatorCommands.UpsertEntities(topic, entities, alerts, mode));
            }
            case RemoveEntitiesManifest:
            {
                var topic = r.Topic();
                var ids = new string[r.Count(minBytesEach: 4)];
                for (var i = 0; i < ids.Length; i++) ids[i] = r.Text();
                return r.End(new AggregatorCommands.RemoveEntities(topic, ids));
            }
            case EntitiesAppliedManifest:
                return r.End(AggregatorCommands.EntitiesApplied.Instance);
            case ConfirmKeptManifest:
                return r.End(AggregatorCommands.ConfirmKept.Instance);
            case KeptManifest:
                return r.End(AggregatorCommands.Kept.Instance);
            case NotKeptManifest:
                return r.End(new AggregatorCommands.NotKept(r.Text()));
            default:
                throw new SerializationException($"{nameof(TrafficSerializer)}: unknown manifest \"{Printable(manifest)}\"");
        }
    }

    /// <summary>A manifest from the wire, safe to put in a log line (bounded, printable ASCII only).</summary>
    private static string Printable(string text)
    {
        var cut = text.Length > 16 ? text[..16] + "..." : text;
        return string.Create(cut.Length, cut, (span, source) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = source[i] is >= ' ' and <= '~' ? source[i] : '?';
        });
    }

    /// <summary>
    /// [publish topic][frame type][frame topic][flags], then the position when numbered ([epoch][offset][previous offset]),
    /// the delta when there is one ([base offset][delta JSON]), then the frame's JSON as it is.
    /// </summary>
    private static byte[] JournalEntry(StreamJournal.Entry entry)
    {
        var frame = Frame(entry.Topic is { } t ? (byte)t : NoTopic, entry.Frame);
        var bytes = new byte[8 + frame.Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, entry.AtUnixMs);
        frame.CopyTo(bytes, 8);
        return bytes;
    }

    private static byte[] Frame(byte publishTopic, ServerFrame frame) => Write(w =>
    {
        w.Byte(publishTopic);
        w.Byte((byte)frame.Type);
        w.Byte(frame.Topic is { } t ? (byte)t : NoTopic);
        w.Byte((byte)((frame.Sequence is null ? 0 : SequenceFlag) | (frame.Delta is null ? 0 : DeltaFlag)));
        if (frame.Sequence is { } sequence)
        {
            w.Bytes(Encoding.ASCII.GetBytes(sequence.Epoch));
            w.Long(sequence.Offset);
            w.Long(sequence.PreviousOffset);
        }
        if (frame.Delta is { } delta)
        {
            w.Long(delta.BaseOffset);
            w.Bytes(delta.Utf8Json);
        }
        w.Raw(frame.Utf8Json);
    });

    private const byte SequenceFlag = 1;
    private const byte DeltaFlag = 2;

    private static byte[] Write(Action<Writer> body)
    {
        var writer = new Writer();
        body(writer);
        return writer.ToArray();
    }

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();
        private readonly byte[] _scratch = new byte[8];

        public void Byte(byte value) => _stream.WriteByte(value);

        public void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_scratch, value);
            _stream.Write(_scratch, 0, 4);
        }

        public void Long(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_scratch, value);
            _stream.Write(_scratch, 0, 8);
        }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            Int(value.Length);
            _stream.Write(value);
        }

        /// <summary>The rest of the message, without a length.</summary>
        public void Raw(ReadOnlySpan<byte> value) => _stream.Write(value);

        public void Text(string value) => Bytes(Encoding.UTF8.GetBytes(value));

        public void Entities(IReadOnlyList<EntityJson> entities)
        {
            Int(entities.Count);
            foreach (var entity in entities)
            {
                Bytes(Encoding.UTF8.GetBytes(entity.Id));
                Bytes(entity.Utf8Json);
            }
        }

        public byte[] ToArray() => _stream.ToArray();
    }

    private static readonly int TopicCount = Enum.GetValues<Topic>().Length;

    /// <summary>Which byte values are defined members of an enum read as one byte from the wire.</summary>
    private static bool[] DefinedBytes<T>() where T : struct, Enum
    {
        var defined = new bool[256];
        foreach (var value in Enum.GetValues<T>())
        {
            var number = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
            if (number is >= 0 and < 256) defined[number] = true;
        }
        return defined;
    }

    private static readonly bool[] DefinedTopics = DefinedBytes<Topic>();
    private static readonly bool[] DefinedMessageTypes = DefinedBytes<ServerMessageType>();
    private static readonly bool[] DefinedConditions = DefinedBytes<AggregatorCommands.AlertCondition>();
    private static readonly bool[] DefinedModes = DefinedBytes<AggregatorCommands.UpsertMode>();

    /// <summary>
    /// Reads what a peer sent, trusting none of it: each read checks the bytes left first, and
    /// allocates only what those bytes can fill. Strings are decoded straight from the input.
    /// </summary>
    private sealed class Reader(byte[] bytes, string manifest)
    {
        private int _position;

        private int Remaining => bytes.Length - _position;

        public SerializationException Refuse(string why) =>
            new($"{nameof(TrafficSerializer)}: refused a \"{Printable(manifest)}\" message of {bytes.Length} bytes: {why}");

        private void Need(int count, string what)
        {
            if (count > Remaining) throw Refuse($"truncated ({what} needs {count} bytes at {_position}, {Remaining} left)");
        }

        public byte Byte()
        {
            Need(1, "a byte");
            return bytes[_position++];
        }

        public int Int()
        {
            Need(4, "an int");
            var value = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(_position, 4));
            _position += 4;
            return value;
        }

        public long Long()
        {
            Need(8, "a long");
            var value = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(_position, 8));
            _position += 8;
            return value;
        }

        /// <summary>A count of items that take at least <paramref name="minBytesEach"/> bytes each: all of them must fit in what is left.</summary>
        public int Count(int minBytesEach)
        {
            var count = Int();
            if (count < 0 || (long)count * minBytesEach > Remaining)
                throw Refuse($"a count of {count} items of at least {minBytesEach} bytes each with {Remaining} bytes left");
            return count;
        }

        /// <summary>A length prefix: 0 to what is left.</summary>
        private int Length()
        {
            var length = Int();
            if (length < 0 || length > Remaining) throw Refuse($"a length of {length} with {Remaining} bytes left");
            return length;
        }

        public byte[] Bytes()
        {
            var length = Length();
            var value = bytes.AsSpan(_position, length).ToArray();
            _position += length;
            return value;
        }

        public string Text()
        {
            var length = Length();
            var value = Encoding.UTF8.GetString(bytes, _position, length);
            _position += length;
            return value;
        }

        public string Ascii()
        {
            var length = Length();
            var value = Encoding.ASCII.GetString(bytes, _position, length);
            _position += length;
            return value;
        }

        public bool Flag() => Byte() switch
        {
            0 => false,
            1 => true,
            var other => throw Refuse($"a flag byte of {other}, not 0 or 1"),
        };

        public Topic Topic()
        {
            var value = Byte();
            return DefinedTopics[value] ? (Topic)value : throw Refuse($"topic byte {value} is not a topic");
        }

        public Topic? OptionalTopic()
        {
            var value = Byte();
            if (value == NoTopic) return null;
            return DefinedTopics[value] ? (Topic)value : throw Refuse($"topic byte {value} is not a topic");
        }

        public ServerMessageType MessageType()
        {
            var value = Byte();
            return DefinedMessageTypes[value] ? (ServerMessageType)value : throw Refuse($"message type byte {value} is not a message type");
        }

        public AggregatorCommands.AlertCondition Condition()
        {
            var value = Byte();
            return DefinedConditions[value] ? (AggregatorCommands.AlertCondition)value : throw Refuse($"condition byte {value} is not an alert condition");
        }

        public AggregatorCommands.UpsertMode Mode()
        {
            var value = Byte();
            return DefinedModes[value] ? (AggregatorCommands.UpsertMode)value : throw Refuse($"upsert mode byte {value} is not an upsert mode");
        }

        public IReadOnlyList<EntityJson> Entities()
        {
            var entities = new EntityJson[Count(minBytesEach: 4 + 4)]; // [id length][JSON length]
            for (var i = 0; i < entities.Length; i++)
            {
                var id = Text();
                entities[i] = new EntityJson(id, Bytes());
            }
            return entities;
        }

        /// <summary>The message, if its bytes end where it does (nothing unread after it).</summary>
        public T End<T>(T message) => Remaining == 0 ? message : throw Refuse($"{Remaining} bytes after the end of the message");

        /// <summary>The rest: [frame type][frame topic][flags][position?][delta?][frame JSON...].</summary>
        public ServerFrame Frame()
        {
            var type = MessageType();
            var topic = OptionalTopic();
            var flags = Byte();
            if ((flags & ~(SequenceFlag | DeltaFlag)) != 0) throw Refuse($"frame flags {flags}");
            FrameSequence? sequence = null;
            FrameDelta? delta = null;
            if ((flags & SequenceFlag) != 0)
            {
                var epoch = Ascii();
                var offset = Long();
                sequence = new FrameSequence(epoch, offset, Long());
            }
            if ((flags & DeltaFlag) != 0)
            {
                if (sequence is null) throw Refuse("a delta on a frame without a position");
                var baseOffset = Long();
                delta = new FrameDelta(baseOffset, Bytes());
            }
            var json = bytes.AsSpan(_position).ToArray();
            _position = bytes.Length;
            return sequence is null ? new ServerFrame(type, topic, json) : new ServerFrame(type, topic, json, sequence, delta);
        }
    }
}
