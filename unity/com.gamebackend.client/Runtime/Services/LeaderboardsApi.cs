using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    [Preserve]
    public sealed class LeaderboardEntry
    {
        /// <summary>1 + entries ahead: better score first, then whoever reached it first.</summary>
        [Preserve] public int Rank;
        [Preserve] public string PlayerId;
        [Preserve] public string DisplayName;
        [Preserve] public double Score;
        [Preserve] public string ReachedAt;
    }

    [Preserve]
    public sealed class LeaderboardDefinition
    {
        [Preserve] public string Id;
        [Preserve] public string Title;
        [Preserve] public string Order;
        [Preserve] public string WriteMode;
        [Preserve] public string Reset;
        [Preserve] public double Min;
        [Preserve] public double Max;
        [Preserve] public int Decimals;
        [Preserve] public double? MaxDelta;
        [Preserve] public string Writer;
        [Preserve] public string SourceStat;
        [Preserve] public string CurrentPeriod;
        [Preserve] public string PeriodStartedAt;
        [Preserve] public string NextResetAt;
    }

    [Preserve]
    public sealed class LeaderboardList
    {
        [Preserve] public List<LeaderboardDefinition> Leaderboards = new List<LeaderboardDefinition>();
    }

    [Preserve]
    public sealed class LeaderboardPage
    {
        [Preserve] public string Board;
        [Preserve] public string Period;
        [Preserve] public List<LeaderboardEntry> Entries = new List<LeaderboardEntry>();
        /// <summary>Pass to the next call for the following page; null on the last page.</summary>
        [Preserve] public string NextCursor;
        [Preserve] public int TotalEntries;
    }

    [Preserve]
    public sealed class LeaderboardStanding
    {
        [Preserve] public string Board;
        [Preserve] public string Period;
        /// <summary>The caller's entry, null when they have no score on this board.</summary>
        [Preserve] public LeaderboardEntry Entry;
        /// <summary>The window around the caller, best first, the caller included.</summary>
        [Preserve] public List<LeaderboardEntry> Entries = new List<LeaderboardEntry>();
        [Preserve] public int TotalEntries;
    }

    [Preserve]
    public sealed class ScoreSubmitted
    {
        [Preserve] public string Board;
        [Preserve] public string Period;
        /// <summary>False when the board's write mode kept the stored score.</summary>
        [Preserve] public bool Changed;
        [Preserve] public LeaderboardEntry Entry;
        [Preserve] public int TotalEntries;
    }

    [Preserve]
    public sealed class LeaderboardPeriod
    {
        [Preserve] public string Period;
        [Preserve] public string Status;
        [Preserve] public string StartedAt;
        [Preserve] public string EndedAt;
        [Preserve] public string ClosedAt;
        [Preserve] public int TotalEntries;
        [Preserve] public List<LeaderboardEntry> Top = new List<LeaderboardEntry>();
    }

    [Preserve]
    public sealed class LeaderboardPeriodsPage
    {
        [Preserve] public string Board;
        [Preserve] public List<LeaderboardPeriod> Periods = new List<LeaderboardPeriod>();
        [Preserve] public string NextCursor;
    }

    /// <summary>Declared boards: top pages, the caller's rank with neighbours, chosen players, past periods.</summary>
    public sealed class LeaderboardsApi
    {
        private readonly BackendClient _client;

        internal LeaderboardsApi(BackendClient client)
        {
            _client = client;
        }

        public Task<LeaderboardList> ListAsync(CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<LeaderboardList>("GET", "/leaderboards", null, true, ct);
        }

        /// <summary>Top entries (limit capped at 100 by the server); a past <paramref name="period"/> reads the archive.</summary>
        public Task<LeaderboardPage> GetTopAsync(string board, int limit = 10, string cursor = null, string period = null, CancellationToken ct = default(CancellationToken))
        {
            var path = "/leaderboards/" + BackendClient.Segment(board) + BackendClient.Query("limit", limit, "cursor", cursor, "period", period);
            return _client.SendAsync<LeaderboardPage>("GET", path, null, true, ct);
        }

        /// <summary>The caller's exact rank and <paramref name="around"/> neighbours each side.</summary>
        public Task<LeaderboardStanding> GetMeAsync(string board, int around = 5, string period = null, CancellationToken ct = default(CancellationToken))
        {
            var path = "/leaderboards/" + BackendClient.Segment(board) + "/me" + BackendClient.Query("around", around, "period", period);
            return _client.SendAsync<LeaderboardStanding>("GET", path, null, true, ct);
        }

        /// <summary>Submit a score (or, on a sum board, the amount to add); answers the entry and its rank. Retried safely under one Idempotency-Key.</summary>
        public Task<ScoreSubmitted> SubmitScoreAsync(string board, double score, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendWriteAsync<ScoreSubmitted>("POST", "/leaderboards/" + BackendClient.Segment(board) + "/scores", new ScoreRequest { Score = score }, ct);
        }

        /// <summary>Entries of chosen players (a friends list the game holds), at most 100 ids.</summary>
        public Task<LeaderboardPage> GetPlayersAsync(string board, IEnumerable<string> playerIds, string period = null, CancellationToken ct = default(CancellationToken))
        {
            var ids = string.Join(",", playerIds.ToArray());
            var path = "/leaderboards/" + BackendClient.Segment(board) + "/players" + BackendClient.Query("ids", ids, "period", period);
            return _client.SendAsync<LeaderboardPage>("GET", path, null, true, ct);
        }

        /// <summary>Archived periods, newest first, with each one's final top entries.</summary>
        public Task<LeaderboardPeriodsPage> GetPeriodsAsync(string board, int limit = 10, string cursor = null, CancellationToken ct = default(CancellationToken))
        {
            var path = "/leaderboards/" + BackendClient.Segment(board) + "/periods" + BackendClient.Query("limit", limit, "cursor", cursor);
            return _client.SendAsync<LeaderboardPeriodsPage>("GET", path, null, true, ct);
        }
    }
}
