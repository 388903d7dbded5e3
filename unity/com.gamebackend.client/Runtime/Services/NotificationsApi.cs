using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    public sealed class Notification
    {
        public string Id;
        public string Kind;
        public string Title;
        public string Body;
        public JToken Data;
        public bool Read;
        public string CreatedAt;
        public string ExpiresAt;
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    public sealed class NotificationPage
    {
        public List<Notification> Notifications = new List<Notification>();
        public string NextCursor;
        public int UnreadCount;
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

        public Task<NotificationPage> ListAsync(int limit = 20, string cursor = null, bool unreadOnly = false, CancellationToken ct = default(CancellationToken))
        {
            var query = BackendClient.Query("limit", limit, "cursor", cursor, "unread_only", unreadOnly ? (object)true : null);
            return _client.SendAsync<NotificationPage>("GET", "/notifications" + query, null, true, ct);
        }

        public Task<JToken> MarkReadAsync(IEnumerable<string> ids, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<JToken>("POST", "/notifications/read", new { ids = ids }, true, ct);
        }

        public Task<JToken> MarkAllReadAsync(CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<JToken>("POST", "/notifications/read", new { all = true }, true, ct);
        }

        public Task<JToken> DeleteAsync(string notificationId, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<JToken>("DELETE", "/notifications/" + BackendClient.Segment(notificationId), null, true, ct);
        }
    }
}
