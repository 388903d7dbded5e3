using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    public sealed class Notification
    {
        public string Id;
        /// <summary>e.g. "achievement_unlocked", "match_found", "admin".</summary>
        public string Kind;
        public string Title;
        public string Body;
        public JObject Data;
        public string CreatedAt;
        public string ExpiresAt;
        public bool Read;
        /// <summary>Sent to everyone; read and delete affect only the caller's view.</summary>
        public bool Broadcast;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    public sealed class NotificationPage
    {
        public List<Notification> Notifications = new List<Notification>();
        /// <summary>Pass to ListAsync for the next page; null on the last one.</summary>
        public string NextCursor;
        /// <summary>Unread notifications in the whole inbox, broadcasts included.</summary>
        public int UnreadCount;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    public sealed class NotificationsRead
    {
        /// <summary>How many were newly marked read.</summary>
        public int Marked;
        public int UnreadCount;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    public sealed class NotificationDeleted
    {
        public string Id;
        public bool Deleted;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    /// <summary>The caller's inbox: achievement unlocks, matches found, period results, admin messages.</summary>
    public sealed class NotificationsApi
    {
        private readonly BackendClient _client;

        internal NotificationsApi(BackendClient client)
        {
            _client = client;
        }

        /// <summary>Newest first; limit 1 to 100.</summary>
        public Task<NotificationPage> ListAsync(int limit = 20, string cursor = null, bool unreadOnly = false, CancellationToken ct = default(CancellationToken))
        {
            var query = BackendClient.Query("limit", limit, "cursor", cursor, "unread_only", unreadOnly ? (object)true : null);
            return _client.SendAsync<NotificationPage>("GET", "/notifications" + query, null, true, ct);
        }

        /// <summary>Mark these notifications read (1 to 100 ids).</summary>
        public Task<NotificationsRead> MarkReadAsync(IEnumerable<string> ids, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<NotificationsRead>("POST", "/notifications/read", new { ids = ids.ToList() }, true, ct);
        }

        public Task<NotificationsRead> MarkAllReadAsync(CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<NotificationsRead>("POST", "/notifications/read", new { all = true }, true, ct);
        }

        /// <summary>Delete one of the caller's notifications (a broadcast is hidden for the caller only).</summary>
        public Task<NotificationDeleted> DeleteAsync(string notificationId, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<NotificationDeleted>("DELETE", "/notifications/" + BackendClient.Segment(notificationId), null, true, ct);
        }
    }
}
