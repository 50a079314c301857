using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Cluster;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;
using Xunit;

namespace Traffic.Tests.Cluster;

/// <summary>
/// What anyone who reaches a node's Akka port could send: forged counts and lengths, truncated
/// frames, undefined enum bytes, a Forwarded inside a Forwarded. Each is refused with a
/// SerializationException (Akka drops the message and logs it) without allocating more than a
/// few KB, whatever the frame asks for.
/// </summary>
public sealed class TrafficSerializerHostileInputSpecs() : TestKit(BootstrapSetup.Create()
    .WithConfig(ConfigurationFactory.ParseString("akka.actor.provider = local"))
    .And(SerializationSetup.Create(system => ImmutableHashSet.Create(SerializerDetails.Create(ClusterHosting.SerializerName,
        new TrafficSerializer(system), ClusterHosting.CrossNodeMessages.ToImmutableHashSet())))))
{
    private const long AllocationLimit = 64 * 1024;

    private TrafficSerializer Serializer => (TrafficSerializer)Sys.Serialization.FindSerializerForType(typeof(RegistryCommands.PublishToTopic));

    /// <summary>Refused, with a SerializationException, allocating less than <see cref="AllocationLimit"/>.</summary>
    private SerializationException Refused(byte[] bytes, string manifest)
    {
        var serializer = Serializer;
        try { serializer.FromBinary(bytes, manifest); } catch (SerializationException) { } // warm-up: statics, JIT
        var before = GC.GetAllocatedBytesForCurrentThread();
        SerializationException? refusal = null;
        try { serializer.FromBinary(bytes, manifest); }
        catch (SerializationException e) { refusal = e; }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(refusal is not null, $"a forged \"{manifest}\" frame of {bytes.Length} bytes was accepted");
        Assert.True(allocated < AllocationLimit, $"refusing a forged \"{manifest}\" frame of {bytes.Length} bytes allocated {allocated} bytes");
        return refusal!;
    }

    /// <summary>Builds frames by hand, as a hostile peer would.</summary>
    private sealed class Forge
    {
        private readonly MemoryStream _bytes = new();
        public Forge Byte(byte value) { _bytes.WriteByte(value); return this; }
        public Forge Int(int value) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, value); _bytes.Write(b); return this; }
        public Forge Long(long value) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, value); _bytes.Write(b); return this; }
        public Forge Text(string value) { var b = Encoding.UTF8.GetBytes(value); Int(b.Length); _bytes.Write(b); return this; }
        public Forge Blob(byte[] value) { Int(value.Length); _bytes.Write(value); return this; }
        public Forge Pad(int count) { _bytes.Write(new byte[count]); return this; }
        public byte[] Bytes => _bytes.ToArray();
    }

    public static TheoryData<string, string> HugeCounts() => new()
    {
        // 20 bytes asking for int.MaxValue items
        { "AH", "heads" },
        { "PE", "entities" },
        { "RT", "entities" },
        { "TS", "entities" },
        { "FS", "topics" },
        { "ST", "subscriber counts" },
        { "UE", "alerts" },
        { "UE-values", "an alert's values" },
        { "RE", "ids" },
    };

    [Theory]
    [MemberData(nameof(HugeCounts))]
    public void A_count_larger_than_the_bytes_left_is_refused(string frame, string what)
    {
        var manifest = frame[..2];
        var bytes = frame switch
        {
            "AH" => new Forge().Int(int.MaxValue).Pad(16).Bytes,
            "PE" or "RT" => new Forge().Byte((byte)Topic.Cameras).Int(int.MaxValue).Pad(15).Bytes,
            "TS" => new Forge().Long(1).Long(1).Byte((byte)Topic.Cameras).Int(int.MaxValue).Pad(3).Bytes,
            "FS" => new Forge().Long(1).Long(1).Int(int.MaxValue).Pad(4).Bytes,
            "ST" => new Forge().Int(3).Int(int.MaxValue).Pad(12).Bytes,
            "UE" => new Forge().Byte((byte)Topic.Accidents).Byte(0).Int(0).Int(int.MaxValue).Pad(10).Bytes,
            "UE-values" => new Forge().Byte((byte)Topic.Accidents).Byte(1).Int(0).Int(1).Int(0).Byte(2).Int(0).Long(0).Int(int.MaxValue).Pad(4).Bytes,
            "RE" => new Forge().Byte((byte)Topic.Accidents).Int(int.MaxValue).Pad(15).Bytes,
            _ => throw new ArgumentOutOfRangeException(nameof(frame)),
        };
        Assert.True(bytes.Length <= 40, what);
        Assert.Contains("count", Refused(bytes, manifest).Message);
        // A negative count is no better.
        Assert.Contains("count", Refused(manifest == "AH" ? new Forge().Int(-1).Pad(16).Bytes : ReplaceLastCount(bytes), manifest).Message);
    }

    /// <summary>The same frame with its (last) count negative: int.MaxValue is 7F FF FF FF, -1 is FF FF FF FF.</summary>
    private static byte[] ReplaceLastCount(byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        var at = Array.LastIndexOf(copy, (byte)0x7F);
        copy[at] = 0xFF;
        return copy;
    }

    public static TheoryData<string, byte[]> HugeLengths() => new()
    {
        { "PD", new Forge().Byte((byte)ServerMessageType.Alert).Byte((byte)Topic.Accidents).Int(int.MaxValue).Pad(14).Bytes },
        { "RA", new Forge().Byte((byte)Topic.Accidents).Int(int.MaxValue).Pad(15).Bytes },
        { "FU", new Forge().Int(int.MaxValue).Pad(16).Bytes },
        { "FW", new Forge().Int(int.MaxValue).Pad(16).Bytes },
        { "PE", new Forge().Byte((byte)Topic.Cameras).Int(1).Int(int.MaxValue).Pad(11).Bytes },           // an entity's id
        { "PE", new Forge().Byte((byte)Topic.Cameras).Int(1).Text("c1").Int(int.MaxValue).Pad(5).Bytes },  // an entity's JSON
        { "RE", new Forge().Byte((byte)Topic.Cameras).Int(1).Int(int.MaxValue).Pad(11).Bytes },
        { "AH", new Forge().Int(1).Byte(1).Int(int.MaxValue).Pad(11).Bytes },                               // an epoch
        { "PT", new Forge().Byte(0).Byte((byte)ServerMessageType.Update).Byte(0).Byte(1).Int(int.MaxValue).Pad(12).Bytes }, // a frame's epoch
        { "PT", new Forge().Byte(0).Byte((byte)ServerMessageType.Update).Byte(0).Byte(3).Text("e").Long(1).Long(0).Long(0).Int(int.MaxValue).Bytes }, // its delta
        { "UE", new Forge().Byte((byte)Topic.Accidents).Byte(0).Int(0).Int(1).Text("a1").Byte(0).Text("f").Long(0).Int(0).Int(int.MaxValue).Pad(4).Bytes }, // an alert's data
        { "UE", new Forge().Byte((byte)Topic.Accidents).Byte(1).Int(0).Int(1).Text("a1").Byte(2).Text("f").Long(0).Int(1).Int(int.MaxValue).Pad(4).Bytes }, // an alert's value
    };

    [Theory]
    [MemberData(nameof(HugeLengths))]
    public void A_length_larger_than_the_bytes_left_is_refused(string manifest, byte[] bytes)
    {
        Assert.Contains("length", Refused(bytes, manifest).Message);
    }

    private static EntityJson Entity(string id) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}"}"""));

    /// <summary>A valid message of every manifest whose end is its last field (not "the rest of the frame").</summary>
    private object[] Structured() =>
    [
        new RegistryCommands.AnnounceHeads([new StreamPosition("k3x9", 7), null]),
        new SequencerCommands.PublishEntities(Topic.Weather, [Entity("w1"), Entity("w2")]),
        new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Accidents, """{"a":1}"""u8.ToArray()),
        new SequencerCommands.Forwarded("origin1", 42, 40, new SequencerCommands.PublishData(ServerMessageType.Update, null, "[1]"u8.ToArray()), TestActor),
        new SequencerCommands.ForwardedUpTo("origin1", 42),
        new AggregatorCommands.ReplaceTopic(Topic.Patterns, [Entity("p1")]),
        new AggregatorCommands.RaiseAlert(Topic.AirQuality, """{"aqi":180}"""u8.ToArray()),
        new StateReplication.TopicState(1, 2, Topic.Cameras, [Entity("c1")]),
        new StateReplication.StateVersion(3, 4),
        new StateReplication.FullState(1, 2, new Dictionary<Topic, IReadOnlyList<EntityJson>> { [Topic.Cameras] = [Entity("c1")], [Topic.Weather] = [] }),
        new RegistryCommands.Stats(5, new Dictionary<Topic, int> { [Topic.Cameras] = 2 }),
        new SimulationClock(1, 2),
        new AggregatorCommands.UpsertEntities(Topic.AirQuality, [Entity("q1")],
            [new AggregatorCommands.ConditionalAlert("q1", AggregatorCommands.AlertCondition.CrossedAbove, "aqi", 150, """{"aqi":180}"""u8.ToArray())]),
        new AggregatorCommands.UpsertEntities(Topic.Accidents, [Entity("a1")],
            [new AggregatorCommands.ConditionalAlert("a1", AggregatorCommands.AlertCondition.EnteredSet, "severity", 0, """{"severity":"high"}"""u8.ToArray(), ["high", "critical"])],
            AggregatorCommands.UpsertMode.MergeFields),
        new AggregatorCommands.RemoveEntities(Topic.Accidents, ["a1", "a2"]),
    ];

    [Fact]
    public void Every_truncation_of_a_message_is_refused_and_trailing_bytes_too()
    {
        foreach (var message in Structured())
        {
            var manifest = Serializer.Manifest(message);
            var bytes = Serializer.ToBinary(message);
            Assert.IsType(message.GetType(), Serializer.FromBinary(bytes, manifest)); // whole, it is fine
            for (var length = 0; length < bytes.Length; length++)
                Refused(bytes[..length], manifest);
            Assert.Contains("after the end", Refused([.. bytes, 0], manifest).Message);
        }
    }

    [Fact]
    public void A_frame_cut_in_its_header_is_refused()
    {
        var frame = ServerMessages.Update(Topic.Cameras, [Entity("c1")], DateTimeOffset.UtcNow, new FrameSequence("k3x9", 5, 4),
            new EntityChanges(4, [Entity("c1")], []));
        var bytes = Serializer.ToBinary(new RegistryCommands.PublishToTopic(Topic.Cameras, frame));
        var header = bytes.Length - frame.Utf8Json.Length; // the JSON is the rest: any cut of it is just shorter JSON
        for (var length = 0; length < header; length++) Refused(bytes[..length], "PT");
    }

    public static TheoryData<string, byte[], string> BadEnumBytes() => new()
    {
        { "PT", new Forge().Byte(6).Byte((byte)ServerMessageType.Alert).Byte(0).Byte(0).Bytes, "topic byte 6" },
        { "PT", new Forge().Byte(0).Byte(42).Byte(0).Byte(0).Bytes, "message type byte 42" },
        { "PT", new Forge().Byte(0).Byte((byte)ServerMessageType.Alert).Byte(200).Byte(0).Bytes, "topic byte 200" },
        { "PT", new Forge().Byte(0).Byte((byte)ServerMessageType.Alert).Byte(0).Byte(0x80).Bytes, "flags" },
        { "PD", new Forge().Byte(9).Byte(0xFF).Int(0).Bytes, "message type byte 9" },
        { "PD", new Forge().Byte((byte)ServerMessageType.Alert).Byte(7).Int(0).Bytes, "topic byte 7" },
        { "RA", new Forge().Byte(0xFE).Int(0).Bytes, "topic byte 254" },
        { "FS", new Forge().Long(1).Long(1).Int(1).Byte(99).Int(0).Bytes, "topic byte 99" },
        { "ST", new Forge().Int(1).Int(1).Byte(8).Int(3).Bytes, "topic byte 8" },
        { "AH", new Forge().Int(1).Byte(2).Bytes, "flag byte of 2" },
        { "UE", new Forge().Byte((byte)Topic.AirQuality).Byte(0).Int(0).Int(1).Text("q1").Byte(7).Text("aqi").Long(0).Int(0).Int(0).Bytes, "condition byte 7" },
        { "UE", new Forge().Byte((byte)Topic.AirQuality).Byte(2).Int(0).Int(0).Bytes, "upsert mode byte 2" },
    };

    [Theory]
    [MemberData(nameof(BadEnumBytes))]
    public void An_undefined_enum_byte_is_refused(string manifest, byte[] bytes, string reason)
    {
        Assert.Contains(reason, Refused(bytes, manifest).Message);
    }

    [Fact]
    public void A_forwarded_carries_one_publish_and_nothing_else()
    {
        var publish = new SequencerCommands.PublishEntities(Topic.Weather, [Entity("w1")]);
        var inner = Serializer.ToBinary(new SequencerCommands.Forwarded("origin1", 1, 1, publish, TestActor));
        var path = Akka.Serialization.Serialization.SerializedActorPath(TestActor);
        Forge Forwarded(string manifest, byte[] body) => new Forge().Text("origin1").Long(2).Long(1).Text(path).Text(manifest).Blob(body);

        Assert.Contains("\"FW\", not a publish", Refused(Forwarded("FW", inner).Bytes, "FW").Message);
        Assert.Contains("not a publish", Refused(Forwarded("RT", Serializer.ToBinary(new AggregatorCommands.ReplaceTopic(Topic.Weather, []))).Bytes, "FW").Message);
        // A Forwarded nested a thousand deep is refused at the first level, without recursion.
        var deep = inner;
        for (var i = 0; i < 1000; i++) deep = Forwarded("FW", deep).Bytes;
        Refused(deep, "FW");

        var ok = Assert.IsType<SequencerCommands.Forwarded>(Serializer.FromBinary(Forwarded("PE", Serializer.ToBinary(publish)).Bytes, "FW"));
        Assert.Equal(publish.Entities[0].Id, Assert.IsType<SequencerCommands.PublishEntities>(ok.Publish).Entities[0].Id);
    }

    [Fact]
    public void An_unknown_manifest_is_refused()
    {
        Assert.Contains("unknown manifest", Refused([1, 2, 3], "ZZ").Message);
    }
}
