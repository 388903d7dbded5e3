using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    [Preserve]
    public sealed class Match
    {
        [Preserve] public string MatchId;
        [Preserve] public string Queue;
        [Preserve] public string Region;
        /// <summary>Player ids per team, balanced by skill.</summary>
        [Preserve] public List<List<string>> Teams = new List<List<string>>();
        [Preserve] public List<string> Players = new List<string>();
        [Preserve] public string CreatedAt;
    }

    [Preserve]
    public sealed class MatchTicket
    {
        [Preserve] public string TicketId;
        [Preserve] public string Queue;
        [Preserve] public string Region;
        /// <summary>forming (a party waiting for members) | searching | matched | timed_out | cancelled.</summary>
        [Preserve] public string Status;
        [Preserve] public string Leader;
        [Preserve] public List<string> Members = new List<string>();
        [Preserve] public List<string> Joined = new List<string>();
        [Preserve] public string CreatedAt;
        [Preserve] public string TimeoutAt;
        [Preserve] public double? SkillWindow;
        [Preserve] public double? EstimatedWaitSeconds;
        [Preserve] public string MatchId;
        [Preserve] public Match Match;

        public bool IsWaiting
        {
            get { return Status == "searching" || Status == "forming"; }
        }
    }

    /// <summary>How WaitForMatchAsync polls: a growing interval with jitter, and a deadline.</summary>
    [Preserve]
    public sealed class PollOptions
    {
        public TimeSpan FirstInterval = TimeSpan.FromSeconds(1);
        public TimeSpan MaxInterval = TimeSpan.FromSeconds(8);
        [Preserve] public double Growth = 1.5;
        /// <summary>Give up (cancel the ticket) after this long; null waits for the server's ticket timeout.</summary>
        [Preserve] public TimeSpan? GiveUpAfter;
    }

    /// <summary>Tickets in declared queues: create, poll (matching runs on poll too), cancel, parties.</summary>
    public sealed class MatchmakingApi
    {
        private readonly BackendClient _client;
        private readonly Random _random = new Random();

        internal MatchmakingApi(BackendClient client)
        {
            _client = client;
        }

        /// <summary>
        /// Queue up. For a party, name the other members: each joins with JoinTicketAsync. A player
        /// with an open ticket gets a ConflictException (code "active_ticket") whose Details is that ticket.
        /// </summary>
        public Task<MatchTicket> CreateTicketAsync(string queue, string region, IList<string> party = null, CancellationToken ct = default(CancellationToken))
        {
            var body = new TicketRequest { Queue = queue, Region = region, Party = party != null && party.Count > 0 ? party : null };
            return _client.SendWriteAsync<MatchTicket>("POST", "/matchmaking/tickets", body, ct);
        }

        /// <summary>The ticket's status; polling also tries to match it with a window widened by the wait.</summary>
        public Task<MatchTicket> GetTicketAsync(string ticketId, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<MatchTicket>("GET", "/matchmaking/tickets/" + BackendClient.Segment(ticketId), null, true, ct);
        }

        /// <summary>A party member confirms the leader's ticket.</summary>
        public Task<MatchTicket> JoinTicketAsync(string ticketId, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<MatchTicket>("POST", "/matchmaking/tickets/" + BackendClient.Segment(ticketId) + "/join", null, true, ct);
        }

        /// <summary>Cancel; a ConflictException once the ticket was matched.</summary>
        public Task<MatchTicket> CancelTicketAsync(string ticketId, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<MatchTicket>("DELETE", "/matchmaking/tickets/" + BackendClient.Segment(ticketId), null, true, ct);
        }

        public Task<Match> GetMatchAsync(string matchId, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<Match>("GET", "/matchmaking/matches/" + BackendClient.Segment(matchId), null, true, ct);
        }

        /// <summary>
        /// Poll until the ticket leaves searching (matched, timed_out, cancelled), waiting longer
        /// between polls each time with jitter; a 429/503 waits its Retry-After. Cancelling
        /// <paramref name="ct"/> or passing GiveUpAfter cancels the ticket on the server.
        /// </summary>
        public async Task<MatchTicket> WaitForMatchAsync(string ticketId, PollOptions options = null, CancellationToken ct = default(CancellationToken))
        {
            try
            {
                return await PollAsync(ticketId, options ?? new PollOptions(), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The caller stopped searching (a MonoBehaviour going away, a "cancel" button):
                // take the ticket out of the queue too, so nobody is matched with a player who left.
                try
                {
                    await CancelTicketAsync(ticketId, CancellationToken.None);
                }
                catch (BackendException)
                {
                    // matched or gone meanwhile: nothing left to cancel
                }
                throw;
            }
        }

        private async Task<MatchTicket> PollAsync(string ticketId, PollOptions options, CancellationToken ct)
        {
            var time = _client.Time;
            var started = time.UtcNow;
            var interval = options.FirstInterval;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                MatchTicket ticket = null;
                TimeSpan? retryAfter = null;
                try
                {
                    ticket = await GetTicketAsync(ticketId, ct);
                }
                catch (BackendException e)
                {
                    if (!e.IsTransient) throw;
                    retryAfter = e.RetryAfter;
                }
                if (ticket != null && !ticket.IsWaiting) return ticket;
                if (options.GiveUpAfter.HasValue && time.UtcNow - started >= options.GiveUpAfter.Value)
                {
                    try
                    {
                        return await CancelTicketAsync(ticketId, CancellationToken.None);
                    }
                    catch (ConflictException)
                    {
                        return await GetTicketAsync(ticketId, CancellationToken.None);  // matched meanwhile
                    }
                }
                double jitter;
                lock (_random) jitter = 0.8 + 0.4 * _random.NextDouble();
                var wait = TimeSpan.FromMilliseconds(interval.TotalMilliseconds * jitter);
                if (retryAfter.HasValue && retryAfter.Value > wait) wait = retryAfter.Value;
                await time.Delay(wait, ct);
                ct.ThrowIfCancellationRequested();
                interval = TimeSpan.FromMilliseconds(Math.Min(options.MaxInterval.TotalMilliseconds, interval.TotalMilliseconds * options.Growth));
            }
        }

        /// <summary>Create a ticket (or take over the open one) and wait for its outcome.</summary>
        public async Task<MatchTicket> FindMatchAsync(string queue, string region, PollOptions options = null, CancellationToken ct = default(CancellationToken))
        {
            MatchTicket ticket;
            try
            {
                ticket = await CreateTicketAsync(queue, region, null, ct);
            }
            catch (ConflictException e)
            {
                if (e.Code != "active_ticket" || e.Details == null) throw;
                ticket = Json.Convert<MatchTicket>(e.Details);
            }
            return ticket.IsWaiting ? await WaitForMatchAsync(ticket.TicketId, options, ct) : ticket;
        }
    }
}
