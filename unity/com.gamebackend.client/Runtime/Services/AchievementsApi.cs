using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    public sealed class Achievement
    {
        public string Id;
        /// <summary>Null for a hidden achievement not yet unlocked.</summary>
        public string Title;
        public string Description;
        public int Points;
        public bool Hidden;
        public string Kind;
        public double Current;
        public double Target;
        public bool Unlocked;
        public string UnlockedAt;
        /// <summary>Percent of players who unlocked it.</summary>
        public double Rarity;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    public sealed class AchievementList
    {
        public List<Achievement> Achievements = new List<Achievement>();
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

        /// <summary>Add steps to an incremental achievement the client may report; unlocks once at its target.</summary>
        public Task<Achievement> ReportProgressAsync(string achievementId, double steps = 1, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<Achievement>("POST", "/achievements/" + BackendClient.Segment(achievementId) + "/progress", new { steps = steps }, true, ct);
        }
    }
}
