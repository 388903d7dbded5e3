using System.Collections.Generic;

namespace GameBackend
{
    // The request bodies, as named types: anonymous types cannot be preserved from stripping
    // and are reached only by reflection. Null members are left out of the JSON.

    [Preserve]
    public sealed class GuestRequest
    {
        [Preserve] public string DisplayName;
    }

    [Preserve]
    public sealed class LoginRequest
    {
        [Preserve] public string Username;
        [Preserve] public string Password;
    }

    [Preserve]
    public sealed class RefreshRequest
    {
        [Preserve] public string RefreshToken;
    }

    [Preserve]
    public sealed class UpgradeRequest
    {
        [Preserve] public string Email;
        [Preserve] public string Password;
    }

    [Preserve]
    public sealed class RenameRequest
    {
        [Preserve] public string DisplayName;
    }

    [Preserve]
    public sealed class StatsUpdateRequest
    {
        [Preserve] public IDictionary<string, double> Updates;
    }

    [Preserve]
    public sealed class ScoreRequest
    {
        [Preserve] public double Score;
    }

    [Preserve]
    public sealed class ProgressRequest
    {
        [Preserve] public int Steps;
    }

    [Preserve]
    public sealed class TicketRequest
    {
        [Preserve] public string Queue;
        [Preserve] public string Region;
        [Preserve] public IList<string> Party;
    }

    [Preserve]
    public sealed class EventBatchRequest
    {
        [Preserve] public IList<GameEvent> Events;
    }

    [Preserve]
    public sealed class MarkReadRequest
    {
        [Preserve] public List<string> Ids;
        [Preserve] public bool? All;
    }

    [Preserve]
    public sealed class UploadRequest
    {
        [Preserve] public long ExpectedVersion;
        [Preserve] public long Size;
        [Preserve] public string Sha256;
    }

    [Preserve]
    public sealed class CommitRequest
    {
        [Preserve] public string UploadId;
        [Preserve] public long ExpectedVersion;
    }
}
