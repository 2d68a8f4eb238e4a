namespace JowiShop.Grains.Abstractions;

/// <summary>
/// Grain references without Orleans' per-call type resolution: <c>GrainFactory.GetGrain</c>
/// reads the interface's attributes and formats its name on every call (about 5% of a barcode
/// scan's time in a trace). Each interface's grain type and interface type are resolved once,
/// by the first GetGrain, and references are built from the key afterwards.
/// </summary>
public static class GrainReferences
{
    public static T Reference<T>(this IGrainFactory grains, Guid key) where T : IGrainWithGuidKey =>
        Resolved<T>.Types is { } t
            ? (T)grains.GetGrain(GrainId.Create(t.Grain, GrainIdKeyExtensions.CreateGuidKey(key)), t.Interface)
            : Resolved<T>.Remember(grains.GetGrain<T>(key));

    public static T Reference<T>(this IGrainFactory grains, Guid key, string extension) where T : IGrainWithGuidCompoundKey =>
        Resolved<T>.Types is { } t
            ? (T)grains.GetGrain(GrainId.Create(t.Grain, GrainIdKeyExtensions.CreateGuidKey(key, extension)), t.Interface)
            : Resolved<T>.Remember(grains.GetGrain<T>(key, extension));

    public static T Reference<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey =>
        Resolved<T>.Types is { } t
            ? (T)grains.GetGrain(GrainId.Create(t.Grain, IdSpan.Create(key)), t.Interface)
            : Resolved<T>.Remember(grains.GetGrain<T>(key));

    private static class Resolved<T> where T : IAddressable
    {
        public sealed record GrainTypes(GrainType Grain, GrainInterfaceType Interface);

        public static GrainTypes? Types;

        public static T Remember(T reference)
        {
            var resolved = (GrainReference)(object)reference;
            Types = new GrainTypes(resolved.GrainId.Type, resolved.InterfaceType);
            return reference;
        }
    }
}
