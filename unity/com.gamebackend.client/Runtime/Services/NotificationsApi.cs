using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    [Preserve]
    public sealed class Notification
    {
        [Preserve] public string Id;
        /// <summary>e.g. "achievement_unlocked", "match_found", "admin".</summary>
        [Preserve] public string Kind;
        [Preserve] public string Title;
        [Preserve] public string Body;
        [Preserve] public JObject Data;
        [Preserve] public string CreatedAt;
        [Preserve] public string ExpiresAt;
        [Preserve] public bool Read;
        /// <summary>Sent to everyone; read and delete affect only the caller's view.</summary>
        [Preserve] public bool Broadcast;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    [Preserve]
    public sealed class NotificationPage
    {
        [Preserve] public List<Notification> Notifications = new List<Notification>();
        /// <summary>Pass to ListAsync for the next page; null on the last one.</summary>
        [Preserve] public string NextCursor;
        /// <summary>Unread notifications in the whole inbox, broadcasts included.</summary>
        [Preserve] public int UnreadCount;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    [Preserve]
    public sealed class NotificationsRead
    {
        /// <summary>How many were newly marked read.</summary>
        [Preserve] public int Marked;
        [Preserve] public int UnreadCount;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    [Preserve]
    public sealed class NotificationDeleted
    {
        [Preserve] public string Id;
        [Preserve] public bool Deleted;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
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
            return _client.SendAsync<NotificationsRead>("POST", "/notifications/read", new MarkReadRequest { Ids = ids.ToList() }, true, ct);
        }

        public Task<NotificationsRead> MarkAllReadAsync(CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<NotificationsRead>("POST", "/notifications/read", new MarkReadRequest { All = true }, true, ct);
        }

        /// <summary>Delete one of the caller's notifications (a broadcast is hidden for the caller only).</summary>
        public Task<NotificationDeleted> DeleteAsync(string notificationId, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<NotificationDeleted>("DELETE", "/notifications/" + BackendClient.Segment(notificationId), null, true, ct);
        }
    }
}
