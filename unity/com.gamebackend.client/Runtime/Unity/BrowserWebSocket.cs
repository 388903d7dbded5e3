#if UNITY_WEBGL && !UNITY_EDITOR
using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using UnityEngine;

namespace GameBackend.Unity
{
    /// <summary>
    /// The browser's WebSocket (Plugins/WebGL/GameBackendWebSocket.jslib) for WebGL players, where
    /// System.Net.WebSockets has no sockets. Messages are queued on the JavaScript side and read
    /// once a frame through the player-loop clock: no thread, no callback into managed code.
    /// A browser cannot set headers on a WebSocket, so the token travels in the query string.
    /// </summary>
    public sealed class BrowserWebSocket : IWebSocket
    {
        private static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(16);
        private int _id = -1;

        [DllImport("__Internal")] private static extern int GameBackendWs_Open(string url);
        [DllImport("__Internal")] private static extern int GameBackendWs_State(int id);
        [DllImport("__Internal")] private static extern string GameBackendWs_Next(int id);
        [DllImport("__Internal")] private static extern void GameBackendWs_Send(int id, string text);
        [DllImport("__Internal")] private static extern void GameBackendWs_Close(int id);

        public async Task ConnectAsync(Uri uri, string authorization, CancellationToken ct)
        {
            _id = GameBackendWs_Open(uri.ToString());
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var state = GameBackendWs_State(_id);
                if (state == 1) return;
                // The browser hides a refused upgrade's status: it reads as a dropped connection
                // (backoff and retry; the HTTP client learns of a ban or a deletion on its own calls).
                if (state == 3) throw new InvalidOperationException("the WebSocket closed before it opened");
                await TimeSources.Default.Delay(Frame, ct);
            }
        }

        public Task SendAsync(string text, CancellationToken ct)
        {
            if (GameBackendWs_State(_id) == 1) GameBackendWs_Send(_id, text);
            return Task.FromResult(0);
        }

        public async Task<string> ReceiveAsync(CancellationToken ct)
        {
            while (true)
            {
                var next = GameBackendWs_Next(_id);
                if (next != null) return next;
                if (GameBackendWs_State(_id) == 3) return null;
                await TimeSources.Default.Delay(Frame, ct);
            }
        }

        public Task CloseAsync()
        {
            if (_id >= 0) GameBackendWs_Close(_id);
            return Task.FromResult(0);
        }

        public void Dispose()
        {
            CloseAsync();
        }
    }

    public sealed class BrowserWebSocketFactory : IWebSocketFactory
    {
        public IWebSocket Create()
        {
            return new BrowserWebSocket();
        }

        public bool SupportsHeaders
        {
            get { return false; }
        }

        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        private static void Install()
        {
            WebSockets.Default = new BrowserWebSocketFactory();
        }
    }
}
#endif
