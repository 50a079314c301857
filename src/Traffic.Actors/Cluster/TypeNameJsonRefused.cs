using Akka.Actor;
using Akka.Serialization;

namespace Traffic.Actors.Cluster;

/// <summary>
/// Takes the place of Akka's type-name JSON serializer (id 1, bound to System.Object) in cluster
/// mode. <c>allow-unregistered-types = false</c> stops this node from sending anything through it,
/// but a peer could still name serializer 1 and any .NET type in a frame, and Akka's JSON serializer
/// would build that type. Every message between nodes has a serializer of its own (ours, or Akka's
/// protobuf ones for its own messages), so this one refuses both ways.
/// </summary>
public sealed class TypeNameJsonRefused : Serializer
{
    public TypeNameJsonRefused(ExtendedActorSystem system) : base(system) { }

    /// <summary>The form Akka calls when settings exist for the serializer's name ("json" has some).</summary>
    public TypeNameJsonRefused(ExtendedActorSystem system, Akka.Configuration.Config settings) : base(system) { }

    /// <summary>The identifier of Akka's NewtonSoftJsonSerializer, which this one replaces.</summary>
    public const int JsonSerializerId = 1;

    public override int Identifier => JsonSerializerId;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj) =>
        throw new System.Runtime.Serialization.SerializationException(
            $"{obj.GetType()} has no serializer of its own, and type-name JSON is not used between nodes: bind it (ClusterHosting.CrossNodeMessages)");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new System.Runtime.Serialization.SerializationException(
            $"a message in type-name JSON (serializer {JsonSerializerId}, type {type}) was refused: nodes of this cluster never send one");
}
