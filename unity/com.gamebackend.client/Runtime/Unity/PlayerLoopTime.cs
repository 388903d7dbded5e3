using System.Collections.Generic;
using UnityEngine;
using UnityEngine.LowLevel;

namespace GameBackend.Unity
{
    /// <summary>
    /// The client's clock in a Unity player: a FrameTime ticked once a frame by a system added to
    /// the player loop's Update phase. Installed as TimeSources.Default before the first scene
    /// loads, on every platform, so retries, backoff and match polling wait on frames (WebGL
    /// included, where Task.Delay never completes) and resume on the main thread.
    /// </summary>
    public static class PlayerLoopTime
    {
        private static FrameTime _time;

        public static FrameTime Instance
        {
            get
            {
                if (_time == null) _time = new FrameTime(() => Time.realtimeSinceStartupAsDouble);
                return _time;
            }
        }

        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        private static void Install()
        {
            // Runs again on entering play mode without a domain reload: drop the last session's waits.
            if (_time != null) _time.Clear();
            TimeSources.Default = Instance;
            var loop = PlayerLoop.GetCurrentPlayerLoop();
            if (AddTo(ref loop)) PlayerLoop.SetPlayerLoop(loop);
        }

        private static void Tick()
        {
            Instance.Tick();
        }

        /// <summary>Adds the tick to the Update phase once; false when it is already there or there is no Update phase.</summary>
        private static bool AddTo(ref PlayerLoopSystem loop)
        {
            if (loop.subSystemList == null) return false;
            for (var i = 0; i < loop.subSystemList.Length; i++)
            {
                var phase = loop.subSystemList[i];
                if (phase.type != typeof(UnityEngine.PlayerLoop.Update)) continue;
                var systems = new List<PlayerLoopSystem>(phase.subSystemList ?? new PlayerLoopSystem[0]);
                foreach (var system in systems)
                {
                    if (system.type == typeof(PlayerLoopTime)) return false;
                }
                systems.Add(new PlayerLoopSystem { type = typeof(PlayerLoopTime), updateDelegate = Tick });
                phase.subSystemList = systems.ToArray();
                loop.subSystemList[i] = phase;
                return true;
            }
            return false;
        }
    }
}
