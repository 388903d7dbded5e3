using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    [Preserve]
    public sealed class SaveSlotInfo
    {
        [Preserve] public string Slot;
        [Preserve] public long Version;
        [Preserve] public long Size;
        /// <summary>SHA-256 hex of the saved bytes.</summary>
        [Preserve] public string Checksum;
        [Preserve] public string UpdatedAt;
        /// <summary>"inline" (in the table) or "s3" (a large save).</summary>
        [Preserve] public string Storage;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    [Preserve]
    public sealed class SaveSlotList
    {
        [Preserve] public List<SaveSlotInfo> Slots = new List<SaveSlotInfo>();
        [Preserve] public string NextCursor;
        [Preserve] public int MaxSlots;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    [Preserve]
    public sealed class SaveData
    {
        [Preserve] public string Slot;
        [Preserve] public long Version;
        /// <summary>The saved JSON; null for a large save kept in storage (read it from DownloadUrl).</summary>
        [Preserve] public JToken Data;
        [Preserve] public long Size;
        [Preserve] public string Checksum;
        [Preserve] public string UpdatedAt;
        [Preserve] public string Storage;
        [Preserve] public string DownloadUrl;
        [Preserve] public string DownloadExpiresAt;
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;

        public T As<T>()
        {
            return Json.Convert<T>(Data);
        }
    }

    /// <summary>Where to PUT a large save: a presigned URL and the headers it was signed with.</summary>
    [Preserve]
    public sealed class UploadTicket
    {
        [Preserve] public string UploadId;
        [Preserve] public string Url;
        [Preserve] public string Method = "PUT";
        [Preserve] public Dictionary<string, string> Headers = new Dictionary<string, string>();
        [Preserve] public string ExpiresAt;
    }

    /// <summary>
    /// 409 on a save: someone wrote the slot since the version this client read. Carries the
    /// server's current version so the game can merge and write again with it.
    /// </summary>
    public class SaveConflictException : ConflictException
    {
        public long CurrentVersion { get; private set; }
        public string CurrentUpdatedAt { get; private set; }

        public SaveConflictException(ConflictException inner)
            : base(inner.Code, inner.Message, inner.Details)
        {
            var details = inner.Details as JObject;
            var current = details != null && details["current"] is JObject ? (JObject)details["current"] : details;
            CurrentVersion = ReadLong(current, "current_version", ReadLong(current, "version", -1));
            CurrentUpdatedAt = current != null ? (string)current["updated_at"] : null;
        }

        private static long ReadLong(JObject obj, string key, long fallback)
        {
            if (obj == null || obj[key] == null || obj[key].Type == JTokenType.Null) return fallback;
            try
            {
                return (long)obj[key];
            }
            catch (Exception)
            {
                return fallback;
            }
        }
    }

    /// <summary>Cloud save in named slots with optimistic concurrency: a stale write is a SaveConflictException, never lost.</summary>
    public sealed class SavesApi
    {
        private readonly BackendClient _client;

        internal SavesApi(BackendClient client)
        {
            _client = client;
        }

        public Task<SaveSlotList> ListAsync(int limit = 20, string cursor = null, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<SaveSlotList>("GET", "/saves" + BackendClient.Query("limit", limit, "cursor", cursor), null, true, ct);
        }

        /// <summary>The slot's data and version; NotFoundException when it was never written.</summary>
        public Task<SaveData> GetAsync(string slot, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<SaveData>("GET", "/saves/" + BackendClient.Segment(slot), null, true, ct);
        }

        /// <summary>
        /// Write the slot if its version is still <paramref name="expectedVersion"/> (0 creates it).
        /// Answers the new version; throws SaveConflictException with the current version otherwise.
        /// </summary>
        public async Task<SaveSlotInfo> PutAsync(string slot, object data, long expectedVersion, CancellationToken ct = default(CancellationToken))
        {
            var token = data as JToken ?? (data == null ? JValue.CreateNull() : JToken.FromObject(data, JsonSerializer.Create(Json.Settings)));
            var body = new JObject { { "data", token }, { "expected_version", expectedVersion } };
            try
            {
                return await _client.SendWriteAsync<SaveSlotInfo>("PUT", "/saves/" + BackendClient.Segment(slot), body.ToString(Formatting.None), ct);
            }
            catch (ConflictException e)
            {
                throw new SaveConflictException(e);
            }
        }

        /// <summary>
        /// Write with a merge on conflict: on 409, read the current save, let <paramref name="merge"/>
        /// combine it with ours, and write again against its version (at most <paramref name="attempts"/> times).
        /// </summary>
        public async Task<SaveSlotInfo> PutMergingAsync(string slot, JToken data, long expectedVersion, Func<SaveData, JToken, JToken> merge, int attempts = 3, CancellationToken ct = default(CancellationToken))
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await PutAsync(slot, data, expectedVersion, ct);
                }
                catch (SaveConflictException)
                {
                    if (attempt >= attempts) throw;
                }
                var current = await GetAsync(slot, ct);
                data = merge(current, data);
                expectedVersion = current.Version;
            }
        }

        /// <summary>
        /// A save too large to send inline (the server answers PayloadTooLargeException): announce its
        /// size and SHA-256, PUT the bytes to the presigned URL, then commit under the same version rule.
        /// </summary>
        public async Task<SaveSlotInfo> PutLargeAsync(string slot, byte[] bytes, long expectedVersion, CancellationToken ct = default(CancellationToken))
        {
            string sha256;
            using (var hash = System.Security.Cryptography.SHA256.Create())
            {
                sha256 = BitConverter.ToString(hash.ComputeHash(bytes)).Replace("-", "").ToLowerInvariant();
            }
            var path = "/saves/" + BackendClient.Segment(slot);
            try
            {
                var ticket = await _client.SendWriteAsync<UploadTicket>("POST", path + "/upload",
                    new UploadRequest { ExpectedVersion = expectedVersion, Size = bytes.Length, Sha256 = sha256 }, ct);
                var upload = new HttpRequestData { Method = ticket.Method ?? "PUT", Url = ticket.Url, BodyBytes = bytes, TimeoutSeconds = 120 };
                foreach (var header in ticket.Headers ?? new Dictionary<string, string>()) upload.Headers[header.Key] = header.Value;
                var stored = await _client.SendExternalAsync(upload, ct);
                if (stored.Status >= 300)
                {
                    throw new BackendException(stored.Status, "upload_failed", "the storage refused the upload: HTTP " + stored.Status);
                }
                return await _client.SendWriteAsync<SaveSlotInfo>("POST", path + "/commit",
                    new CommitRequest { UploadId = ticket.UploadId, ExpectedVersion = expectedVersion }, ct);
            }
            catch (ConflictException e)
            {
                if (e is SaveConflictException) throw;
                throw new SaveConflictException(e);
            }
        }

        /// <summary>The bytes of a large save read with GetAsync (its DownloadUrl); inline saves answer their JSON text.</summary>
        public async Task<string> DownloadAsync(SaveData save, CancellationToken ct = default(CancellationToken))
        {
            if (save.DownloadUrl == null) return save.Data == null ? null : save.Data.ToString(Formatting.None);
            var response = await _client.SendExternalAsync(new HttpRequestData { Method = "GET", Url = save.DownloadUrl, TimeoutSeconds = 120 }, ct);
            if (response.Status >= 300) throw new BackendException(response.Status, "download_failed", "the storage refused the download: HTTP " + response.Status);
            return response.Body;
        }

        /// <summary>Delete the slot if its version is still <paramref name="expectedVersion"/>.</summary>
        public async Task DeleteAsync(string slot, long expectedVersion, CancellationToken ct = default(CancellationToken))
        {
            try
            {
                await _client.SendAsync<JToken>("DELETE", "/saves/" + BackendClient.Segment(slot) + BackendClient.Query("expected_version", expectedVersion), null, true, ct);
            }
            catch (ConflictException e)
            {
                throw new SaveConflictException(e);
            }
        }
    }
}
