using Microsoft.AspNetCore.Http.Features;

namespace Traffic.Host.WebSockets;

/// <summary>
/// Runs before <c>UseWebSockets</c> and wraps the upgrade feature, so that ASP.NET Core's own
/// handshake builds its WebSocket over an <see cref="ActivityTrackingStream"/>. The wrapped
/// stream is left in the request's features for the endpoint to pick up.
/// </summary>
public sealed class ActivityTrackingUpgradeMiddleware(RequestDelegate next)
{
    public Task Invoke(HttpContext context)
    {
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is { IsUpgradableRequest: true })
            context.Features.Set<IHttpUpgradeFeature>(new TrackingUpgradeFeature(upgrade, context.Features));
        return next(context);
    }

    private sealed class TrackingUpgradeFeature(IHttpUpgradeFeature inner, IFeatureCollection features) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync()
        {
            var tracked = new ActivityTrackingStream(await inner.UpgradeAsync());
            features.Set(tracked);
            return tracked;
        }
    }
}
