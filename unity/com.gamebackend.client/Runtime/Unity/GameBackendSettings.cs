using UnityEngine;

namespace GameBackend.Unity
{
    /// <summary>
    /// The backend's configuration as an asset (Assets > Create > Game Backend > Settings): one URL
    /// per environment, the active one, timeouts and retries, the event consent default. Staging
    /// and Production must use https://; BackendOptions.Validate refuses anything else.
    /// </summary>
    [CreateAssetMenu(menuName = "Game Backend/Settings", fileName = "GameBackendSettings")]
    public sealed class GameBackendSettings : ScriptableObject
    {
        [Tooltip("Which of the URLs below the game talks to")]
        public BackendEnvironment environment = BackendEnvironment.Local;
        [Tooltip("`make run` serves http://127.0.0.1:8000; plain HTTP is accepted for Local only")]
        public string localUrl = "http://127.0.0.1:8000";
        public string stagingUrl = "https://";
        public string productionUrl = "https://";

        [Header("Requests")]
        [Min(1)] public int timeoutSeconds = 30;
        [Tooltip("Requests per call at most for reads and keyed writes; 1 turns retries off")]
        [Min(1)] public int maxAttempts = 3;

        [Header("Events")]
        [Tooltip("Seconds between two sends of the event queue")]
        [Min(0.1f)] public float eventFlushSeconds = 1f;
        [Tooltip("Keep events on the device and send none until the game calls AllowEventSending(true)")]
        public bool eventsWaitForConsent;

        [Header("Pushes")]
        [Tooltip("Once signed in, connect the realtime WebSocket for match-found, notification and unlock pushes; off (or no URL): the inbox is polled")]
        public bool useRealtime = true;
        [Tooltip("`make run` serves ws://127.0.0.1:8001/api; wss:// outside Local; empty: poll the inbox only")]
        public string localRealtimeUrl = "ws://127.0.0.1:8001/api";
        [Tooltip("The stack's WebsocketConnectEndpointURL (wss://); empty: poll the inbox only")]
        public string stagingRealtimeUrl = "";
        public string productionRealtimeUrl = "";
        [Tooltip("Seconds between two reads of the inbox while the socket is down or missing")]
        [Min(1f)] public float inboxPollSeconds = 20f;

        public string ActiveUrl
        {
            get
            {
                switch (environment)
                {
                    case BackendEnvironment.Production: return productionUrl;
                    case BackendEnvironment.Staging: return stagingUrl;
                    default: return localUrl;
                }
            }
        }

        public string ActiveRealtimeUrl
        {
            get
            {
                switch (environment)
                {
                    case BackendEnvironment.Production: return productionRealtimeUrl;
                    case BackendEnvironment.Staging: return stagingRealtimeUrl;
                    default: return localRealtimeUrl;
                }
            }
        }

        /// <summary>The WebSocket's options, or null for no socket (polling only); throws ArgumentException for a URL the environment does not allow.</summary>
        public RealtimeOptions ToRealtimeOptions()
        {
            if (!useRealtime || string.IsNullOrEmpty(ActiveRealtimeUrl)) return null;
            var options = new RealtimeOptions { Url = ActiveRealtimeUrl };
            options.Validate(environment);
            return options;
        }

        public PushFeedOptions ToPushFeedOptions()
        {
            return new PushFeedOptions { PollInterval = System.TimeSpan.FromSeconds(inboxPollSeconds) };
        }

        /// <summary>The client's options; throws ArgumentException for a URL the environment does not allow.</summary>
        public BackendOptions ToOptions()
        {
            var options = new BackendOptions
            {
                BaseUrl = ActiveUrl,
                Environment = environment,
                TimeoutSeconds = timeoutSeconds,
                MaxAttempts = maxAttempts,
            };
            options.Validate();
            return options;
        }
    }
}
