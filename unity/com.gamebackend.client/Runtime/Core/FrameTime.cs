using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    /// <summary>
    /// A time source whose waits are completed by <see cref="Tick"/>, called once a frame on the
    /// main thread (in Unity, from the player loop: see GameBackend.Unity.PlayerLoopTime). No thread,
    /// no timer, no Task.Delay: it works on WebGL, and every continuation after a wait runs inside
    /// Tick, on the thread that ticks. A cancelled wait ends at the next Tick.
    /// </summary>
    public sealed class FrameTime : ITimeSource
    {
        private sealed class Wait
        {
            public double Due;
            public CancellationToken Token;
            public TaskCompletionSource<bool> Done;
        }

        private readonly Func<double> _seconds;
        private readonly List<Wait> _waits = new List<Wait>();

        /// <param name="seconds">A monotonic clock in seconds (Unity: Time.realtimeSinceStartupAsDouble).</param>
        public FrameTime(Func<double> seconds)
        {
            _seconds = seconds;
        }

        public DateTime UtcNow
        {
            get { return DateTime.UtcNow; }
        }

        /// <summary>Waits not yet completed.</summary>
        public int Pending
        {
            get { lock (_waits) return _waits.Count; }
        }

        public Task Delay(TimeSpan delay, CancellationToken cancellationToken)
        {
            var done = new TaskCompletionSource<bool>();
            if (cancellationToken.IsCancellationRequested)
            {
                done.SetCanceled();
                return done.Task;
            }
            lock (_waits)
            {
                _waits.Add(new Wait { Due = _seconds() + Math.Max(0, delay.TotalSeconds), Token = cancellationToken, Done = done });
            }
            return done.Task;
        }

        /// <summary>Complete the waits that are due and cancel the cancelled ones; their continuations run here.</summary>
        public void Tick()
        {
            var now = _seconds();
            var ready = new List<Wait>();
            lock (_waits)
            {
                for (var i = 0; i < _waits.Count; i++)
                {
                    var wait = _waits[i];
                    if (wait.Token.IsCancellationRequested || now >= wait.Due)
                    {
                        ready.Add(wait);
                        _waits.RemoveAt(i--);
                    }
                }
            }
            foreach (var wait in ready)
            {
                if (wait.Token.IsCancellationRequested) wait.Done.TrySetCanceled();
                else wait.Done.TrySetResult(true);
            }
        }

        /// <summary>Cancel every wait (a domain reload, leaving play mode).</summary>
        public void Clear()
        {
            List<Wait> all;
            lock (_waits)
            {
                all = new List<Wait>(_waits);
                _waits.Clear();
            }
            foreach (var wait in all) wait.Done.TrySetCanceled();
        }
    }
}
