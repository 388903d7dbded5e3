using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>What an achievement adds to one of the player's stats when it unlocks.</summary>
    public sealed class AchievementReward
    {
        public string Stat;
        public double Amount;
    }

    /// <summary>An achievement as the caller sees it (GET /achievements).</summary>
    public sealed class Achievement
    {
        public string Id;
        /// <summary>"threshold" (a stat reaching a target), "incremental" (steps) or "manual" (granted).</summary>
        public string Kind;
        public bool Hidden;
        /// <summary>Null for a hidden achievement not yet unlocked.</summary>
        public string Title;
        /// <summary>Null for a hidden achievement not yet unlocked.</summary>
        public string Description;
        public int Points;
        /// <summary>The stat a threshold achievement watches.</summary>
        public string Stat;
        /// <summary>"at_least" or "at_most", for a threshold achievement.</summary>
        public string Comparison;
        /// <summary>Current value or steps, shown as Progress/Target; null when masked or not tracked.</summary>
        public double? Progress;
        /// <summary>Null for a manual achievement.</summary>
        public double? Target;
        public bool Unlocked;
        public string UnlockedAt;
        /// <summary>Percent of players who unlocked it.</summary>
        public double RarityPercent;
        public AchievementReward Reward;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    public sealed class AchievementList
    {
        public string PlayerId;
        public List<Achievement> Achievements = new List<Achievement>();
        public int UnlockedCount;
        public int PointsEarned;
        public int PointsTotal;
        /// <summary>How many players the rarity percentages are taken over.</summary>
        public int PlayersCounted;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    /// <summary>The answer to a progress report.</summary>
    public sealed class AchievementProgress
    {
        public Achievement Achievement;
        /// <summary>True only for the report that unlocked it.</summary>
        public bool UnlockedNow;
        /// <summary>False when the achievement was already unlocked: nothing changed.</summary>
        public bool Applied;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    /// <summary>Declared achievements with the caller's progress; incremental steps reported by the client.</summary>
    public sealed class AchievementsApi
    {
        private readonly BackendClient _client;

        internal AchievementsApi(BackendClient client)
        {
            _client = client;
        }

        public Task<AchievementList> ListAsync(CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<AchievementList>("GET", "/achievements", null, true, ct);
        }

        /// <summary>
        /// Add steps (1 to 1,000,000, and no more than the achievement's max step) to an incremental
        /// achievement the client may report; it unlocks once at its target.
        /// </summary>
        public Task<AchievementProgress> ReportProgressAsync(string achievementId, int steps = 1, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<AchievementProgress>("POST", "/achievements/" + BackendClient.Segment(achievementId) + "/progress", new { steps = steps }, true, ct);
        }
    }
}
