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

    /// <summary>[publish topic][frame type][frame topic][frame JSON...]: one allocation, one copy of the bytes.</summary>
    private static byte[] Frame(byte publishTopic, ServerFrame frame)
    {
        var json = frame.Utf8Json;
        var bytes = new byte[3 + json.Length];
        bytes[0] = publishTopic;
        bytes[1] = (byte)frame.Type;
        bytes[2] = frame.Topic is { } t ? (byte)t : NoTopic;
        json.CopyTo(bytes.AsSpan(3));
        return bytes;
    }

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

        /// <summary>The rest: [frame type][frame topic][frame JSON...].</summary>
        public ServerFrame Frame()
        {
            var type = (ServerMessageType)Byte();
            var topicByte = Byte();
            Topic? topic = topicByte == NoTopic ? null : (Topic)topicByte;
            var json = bytes.AsSpan(_position).ToArray();
            _position = bytes.Length;
            return new ServerFrame(type, topic, json);
        }
    }
}
