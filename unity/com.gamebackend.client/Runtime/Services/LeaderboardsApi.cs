using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    public sealed class LeaderboardEntry
    {
        /// <summary>1 + entries ahead: better score first, then whoever reached it first.</summary>
        public int Rank;
        public string PlayerId;
        public string DisplayName;
        public double Score;
        public string ReachedAt;
    }

    public sealed class LeaderboardDefinition
    {
        public string Id;
        public string Title;
        public string Order;
        public string WriteMode;
        public string Reset;
        public double Min;
        public double Max;
        public int Decimals;
        public double? MaxDelta;
        public string Writer;
        public string SourceStat;
        public string CurrentPeriod;
        public string PeriodStartedAt;
        public string NextResetAt;
    }

    public sealed class LeaderboardList
    {
        public List<LeaderboardDefinition> Leaderboards = new List<LeaderboardDefinition>();
    }

    public sealed class LeaderboardPage
    {
        public string Board;
        public string Period;
        public List<LeaderboardEntry> Entries = new List<LeaderboardEntry>();
        /// <summary>Pass to the next call for the following page; null on the last page.</summary>
        public string NextCursor;
        public int TotalEntries;
    }

    public sealed class LeaderboardStanding
    {
        public string Board;
        public string Period;
        /// <summary>The caller's entry, null when they have no score on this board.</summary>
        public LeaderboardEntry Entry;
        /// <summary>The window around the caller, best first, the caller included.</summary>
        public List<LeaderboardEntry> Entries = new List<LeaderboardEntry>();
        public int TotalEntries;
    }

    public sealed class ScoreSubmitted
    {
        public string Board;
        public string Period;
        /// <summary>False when the board's write mode kept the stored score.</summary>
        public bool Changed;
        public LeaderboardEntry Entry;
        public int TotalEntries;
    }

    public sealed class LeaderboardPeriod
    {
        public string Period;
        public string Status;
        public string StartedAt;
        public string EndedAt;
        public string ClosedAt;
        public int TotalEntries;
        public List<LeaderboardEntry> Top = new List<LeaderboardEntry>();
    }

    public sealed class LeaderboardPeriodsPage
    {
        public string Board;
        public List<LeaderboardPeriod> Periods = new List<LeaderboardPeriod>();
        public string NextCursor;
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

        /// <summary>Submit a score (or, on a sum board, the amount to add); answers the entry and its rank.</summary>
        public Task<ScoreSubmitted> SubmitScoreAsync(string board, double score, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<ScoreSubmitted>("POST", "/leaderboards/" + BackendClient.Segment(board) + "/scores", new { score = score }, true, ct);
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
