using System;

namespace GameBackend
{
    /// <summary>
    /// Keeps a type or member through Unity's managed code stripping (IL2CPP, or Mono with
    /// stripping on). Unity's linker honours any attribute named exactly PreserveAttribute,
    /// whatever its namespace, so the core needs no UnityEngine reference; and unlike a
    /// link.xml, it works from inside a UPM package. Every type the JSON serializer reaches by
    /// reflection carries it, with its fields.
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Enum
        | AttributeTargets.Constructor | AttributeTargets.Method | AttributeTargets.Property | AttributeTargets.Field
        | AttributeTargets.Event | AttributeTargets.Interface | AttributeTargets.Delegate, Inherited = false)]
    public sealed class PreserveAttribute : Attribute
    {
    }
}
