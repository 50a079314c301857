using System.Buffers.Binary;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;

namespace Traffic.Actors.Cluster;

/// <summary>
/// Binary serializer for the messages that cross between nodes (bound in <c>hocon/cluster.hocon</c>).
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
        _ => throw new ArgumentException($"{nameof(TrafficSerializer)} cannot serialize {o.GetType()}", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        RegistryCommands.PublishToTopic p => Frame((byte)p.Topic, p.Frame),
        RegistryCommands.PublishToAll p => Frame(NoTopic, p.Frame),
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
        StateReplication.TopicState s => Write(w => { w.Long(s.Epoch); w.Long(s.Version); w.Byte((byte)s.Topic); w.Entities(s.Entities); }),
        StateReplication.StateVersion v => Write(w => { w.Long(v.Epoch); w.Long(v.Version); }),
        StateReplication.GetFullState => [],
        StateReplication.FullState f => Write(w =>
        {
            w.Long(f.Epoch);
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
        AggregatorCommands.UpsertEntities u => Write(w =>
        {
            w.Byte((byte)u.Topic);
            w.Entities(u.Entities);
            w.Int(u.Alerts.Count);
            foreach (var alert in u.Alerts)
            {
                w.Text(alert.EntityId);
                w.Byte((byte)alert.Condition);
                w.Text(alert.Field);
                w.Long(BitConverter.DoubleToInt64Bits(alert.Threshold));
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
        _ => throw new ArgumentException($"{nameof(TrafficSerializer)} cannot serialize {obj.GetType()}", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var r = new Reader(bytes);
        switch (manifest)
        {
            case PublishToTopicManifest:
            {
                var topic = (Topic)r.Byte();
                return new RegistryCommands.PublishToTopic(topic, r.Frame());
            }
            case PublishToAllManifest:
                r.Byte();
                return new RegistryCommands.PublishToAll(r.Frame());
            case AnnounceHeadsManifest:
            {
                var heads = new StreamPosition?[r.Int()];
                for (var i = 0; i < heads.Length; i++)
                    if (r.Byte() == 1) heads[i] = new StreamPosition(Encoding.ASCII.GetString(r.Bytes()), r.Long());
                return new RegistryCommands.AnnounceHeads(heads);
            }
            case ForwardedManifest:
            {
                var origin = Encoding.UTF8.GetString(r.Bytes());
                var number = r.Long();
                var oldest = r.Long();
                var replyTo = base.system.Provider.ResolveActorRef(Encoding.UTF8.GetString(r.Bytes()));
                var manifestOfPublish = Encoding.ASCII.GetString(r.Bytes());
                return new SequencerCommands.Forwarded(origin, number, oldest, FromBinary(r.Bytes(), manifestOfPublish), replyTo);
            }
            case ForwardedUpToManifest:
            {
                var origin = Encoding.UTF8.GetString(r.Bytes());
                return new SequencerCommands.ForwardedUpTo(origin, r.Long());
            }
            case PublishEntitiesManifest:
            {
                var topic = (Topic)r.Byte();
                return new SequencerCommands.PublishEntities(topic, r.Entities());
            }
            case PublishDataManifest:
            {
                var type = (ServerMessageType)r.Byte();
                var topicByte = r.Byte();
                return new SequencerCommands.PublishData(type, topicByte == NoTopic ? null : (Topic)topicByte, r.Bytes());
            }
            case ReplaceTopicManifest:
            {
                var topic = (Topic)r.Byte();
                return new AggregatorCommands.ReplaceTopic(topic, r.Entities());
            }
            case RaiseAlertManifest:
            {
                var topic = (Topic)r.Byte();
                return new AggregatorCommands.RaiseAlert(topic, r.Bytes());
            }
            case TopicStateManifest:
            {
                var epoch = r.Long();
                var version = r.Long();
                var topic = (Topic)r.Byte();
                return new StateReplication.TopicState(epoch, version, topic, r.Entities());
            }
            case StateVersionManifest:
            {
                var epoch = r.Long();
                return new StateReplication.StateVersion(epoch, r.Long());
            }
            case GetFullStateManifest:
                return StateReplication.GetFullState.Instance;
            case FullStateManifest:
            {
                var epoch = r.Long();
                var version = r.Long();
                var count = r.Int();
                var topics = new Dictionary<Topic, IReadOnlyList<EntityJson>>(count);
                for (var i = 0; i < count; i++)
                {
                    var topic = (Topic)r.Byte();
                    topics[topic] = r.Entities();
                }
                return new StateReplication.FullState(epoch, version, topics);
            }
            case SimulationClockManifest:
            {
                var origin = r.Long();
                return new SimulationClock(origin, r.Long());
            }
            case GetStatsManifest:
                return RegistryCommands.GetStats.Instance;
            case StatsManifest:
            {
                var clients = r.Int();
                var count = r.Int();
                var subscribers = new Dictionary<Topic, int>(count);
                for (var i = 0; i < count; i++)
                {
                    var topic = (Topic)r.Byte();
                    subscribers[topic] = r.Int();
                }
                return new RegistryCommands.Stats(clients, subscribers);
            }
            case HelloManifest:
                return new ClusterFanOutActor.Hello(Encoding.UTF8.GetString(bytes));
            case UpsertEntitiesManifest:
            {
                var topic = (Topic)r.Byte();
                var entities = r.Entities();
                var alerts = new AggregatorCommands.ConditionalAlert[r.Int()];
                for (var i = 0; i < alerts.Length; i++)
                {
                    var id = r.Text();
                    var condition = (AggregatorCommands.AlertCondition)r.Byte();
                    var field = r.Text();
                    var threshold = BitConverter.Int64BitsToDouble(r.Long());
                    alerts[i] = new AggregatorCommands.ConditionalAlert(id, condition, field, threshold, r.Bytes());
                }
                return new AggregatorCommands.UpsertEntities(topic, entities, alerts);
            }
            case RemoveEntitiesManifest:
            {
                var topic = (Topic)r.Byte();
                var ids = new string[r.Int()];
                for (var i = 0; i < ids.Length; i++) ids[i] = r.Text();
                return new AggregatorCommands.RemoveEntities(topic, ids);
            }
            case EntitiesAppliedManifest:
                return AggregatorCommands.EntitiesApplied.Instance;
            default:
                throw new System.Runtime.Serialization.SerializationException($"{nameof(TrafficSerializer)}: unknown manifest \"{manifest}\"");
        }
    }

    /// <summary>
    /// [publish topic][frame type][frame topic][flags], then the position when numbered ([epoch][offset][previous offset]),
    /// the delta when there is one ([base offset][delta JSON]), then the frame's JSON as it is.
    /// </summary>
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

    private sealed class Reader(byte[] bytes)
    {
        private int _position;

        public byte Byte() => bytes[_position++];

        public int Int()
        {
            var value = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(_position, 4));
            _position += 4;
            return value;
        }

        public long Long()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(_position, 8));
            _position += 8;
            return value;
        }

        public byte[] Bytes()
        {
            var length = Int();
            var value = bytes.AsSpan(_position, length).ToArray();
            _position += length;
            return value;
        }

        public string Text() => Encoding.UTF8.GetString(Bytes());

        public IReadOnlyList<EntityJson> Entities()
        {
            var count = Int();
            var entities = new EntityJson[count];
            for (var i = 0; i < count; i++)
            {
                var id = Encoding.UTF8.GetString(Bytes());
                entities[i] = new EntityJson(id, Bytes());
            }
            return entities;
        }

        /// <summary>The rest: [frame type][frame topic][flags][position?][delta?][frame JSON...].</summary>
        public ServerFrame Frame()
        {
            var type = (ServerMessageType)Byte();
            var topicByte = Byte();
            Topic? topic = topicByte == NoTopic ? null : (Topic)topicByte;
            var flags = Byte();
            FrameSequence? sequence = null;
            FrameDelta? delta = null;
            if ((flags & SequenceFlag) != 0)
            {
                var epoch = Encoding.ASCII.GetString(Bytes());
                var offset = Long();
                sequence = new FrameSequence(epoch, offset, Long());
            }
            if ((flags & DeltaFlag) != 0)
            {
                var baseOffset = Long();
                delta = new FrameDelta(baseOffset, Bytes());
            }
            var json = bytes.AsSpan(_position).ToArray();
            _position = bytes.Length;
            return sequence is null ? new ServerFrame(type, topic, json) : new ServerFrame(type, topic, json, sequence, delta);
        }
    }
}
