using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>What an achievement adds to one of the player's stats when it unlocks.</summary>
    [Preserve]
    public sealed class AchievementReward
    {
        [Preserve] public string Stat;
        [Preserve] public double Amount;
    }

    /// <summary>An achievement as the caller sees it (GET /achievements).</summary>
    [Preserve]
    public sealed class Achievement
    {
        [Preserve] public string Id;
        /// <summary>"threshold" (a stat reaching a target), "incremental" (steps) or "manual" (granted).</summary>
        [Preserve] public string Kind;
        [Preserve] public bool Hidden;
        /// <summary>Null for a hidden achievement not yet unlocked.</summary>
        [Preserve] public string Title;
        /// <summary>Null for a hidden achievement not yet unlocked.</summary>
        [Preserve] public string Description;
        [Preserve] public int Points;
        /// <summary>The stat a threshold achievement watches.</summary>
        [Preserve] public string Stat;
        /// <summary>"at_least" or "at_most", for a threshold achievement.</summary>
        [Preserve] public string Comparison;
        /// <summary>Current value or steps, shown as Progress/Target; null when masked or not tracked.</summary>
        [Preserve] public double? Progress;
        /// <summary>Null for a manual achievement.</summary>
        [Preserve] public double? Target;
        [Preserve] public bool Unlocked;
        [Preserve] public string UnlockedAt;
        /// <summary>Percent of players who unlocked it.</summary>
        [Preserve] public double RarityPercent;
        [Preserve] public AchievementReward Reward;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    [Preserve]
    public sealed class AchievementList
    {
        [Preserve] public string PlayerId;
        [Preserve] public List<Achievement> Achievements = new List<Achievement>();
        [Preserve] public int UnlockedCount;
        [Preserve] public int PointsEarned;
        [Preserve] public int PointsTotal;
        /// <summary>How many players the rarity percentages are taken over.</summary>
        [Preserve] public int PlayersCounted;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    /// <summary>The answer to a progress report.</summary>
    [Preserve]
    public sealed class AchievementProgress
    {
        [Preserve] public Achievement Achievement;
        /// <summary>True only for the report that unlocked it.</summary>
        [Preserve] public bool UnlockedNow;
        /// <summary>False when the achievement was already unlocked: nothing changed.</summary>
        [Preserve] public bool Applied;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
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
            return _client.SendWriteAsync<AchievementProgress>("POST", "/achievements/" + BackendClient.Segment(achievementId) + "/progress", new ProgressRequest { Steps = steps }, ct);
        }
    }
}
