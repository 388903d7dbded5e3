using System;
using System.Globalization;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>
    /// An error answered by the API: its HTTP status, its machine <see cref="Code"/>
    /// (e.g. "invalid", "not_found", "conflict", "rate_limited"), the human message and the details.
    /// </summary>
    public class BackendException : Exception
    {
        public int Status { get; private set; }
        public string Code { get; private set; }
        public JToken Details { get; private set; }
        /// <summary>From the Retry-After header on 429 and 503; null when absent.</summary>
        public TimeSpan? RetryAfter { get; private set; }

        public BackendException(int status, string code, string message, JToken details = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, inner)
        {
            Status = status;
            Code = code ?? "unknown";
            Details = details;
            RetryAfter = retryAfter;
        }

        /// <summary>True for errors worth retrying later: no response, 429, 5xx.</summary>
        public virtual bool IsTransient
        {
            get { return Status == 0 || Status == 429 || Status >= 500; }
        }

        /// <summary>The typed exception for an error response (status, {error, code, details}, Retry-After).</summary>
        public static BackendException FromResponse(HttpResponseData response)
        {
            string message = null, code = null;
            JToken details = null;
            try
            {
                var body = (JObject)Json.Parse(response.Body);
                // API Gateway's own refusals (an HTTP API's throttling, a failed function) say
                // {"message": ...}: keep their text; the code then comes from the status.
                message = (string)body["error"] ?? (string)body["message"];
                code = (string)body["code"];
                details = body["details"];
            }
            catch (Exception)
            {
                // Not JSON (a proxy's page): keep the status and the text.
                message = response.Body;
            }
            message = string.IsNullOrEmpty(message) ? "HTTP " + response.Status : message;
            var retryAfter = ParseRetryAfter(response.Header("Retry-After"));
            switch (response.Status)
            {
                case 400: return new InvalidRequestException(code ?? "invalid", message, details);
                case 401:
                    if (code == AccountDeletedException.ServerCode) return new AccountDeletedException(message, details);
                    return new UnauthorizedException(code ?? "unauthorized", message, details);
                case 403:
                    if (code == AccountBannedException.ServerCode) return new AccountBannedException(message, details);
                    return new ForbiddenException(code ?? "forbidden", message, details);
                case 404: return new NotFoundException(code ?? "not_found", message, details);
                case 409: return new ConflictException(code ?? "conflict", message, details);
                case 413: return new PayloadTooLargeException(code ?? "too_large", message, details);
                case 429: return new RateLimitedException(code ?? "rate_limited", message, details, retryAfter);
                case 503: return new ServiceUnavailableException(code ?? "unavailable", message, details, retryAfter);
                default: return new BackendException(response.Status, code ?? "http_" + response.Status, message, details, retryAfter);
            }
        }

        public static TimeSpan? ParseRetryAfter(string value)
        {
            if (string.IsNullOrEmpty(value)) return null;
            double seconds;
            if (double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }
            DateTimeOffset at;
            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
            {
                var wait = at - DateTimeOffset.UtcNow;
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
            return null;
        }
    }

    /// <summary>No response at all: no connection, a timeout, an aborted request.</summary>
    public class NetworkException : BackendException
    {
        public NetworkException(string message, Exception inner = null) : base(0, "network", message, null, null, inner) { }
    }

    /// <summary>400: the request was refused; <see cref="Field"/> names the offending field.</summary>
    public class InvalidRequestException : BackendException
    {
        public InvalidRequestException(string code, string message, JToken details) : base(400, code, message, details) { }

        public string Field
        {
            get { return Details != null && Details.Type == JTokenType.Object ? (string)Details["field"] : null; }
        }
    }

    /// <summary>401: no token, a bad one, or bad credentials.</summary>
    public class UnauthorizedException : BackendException
    {
        public UnauthorizedException(string code, string message, JToken details) : base(401, code, message, details) { }
    }

    /// <summary>401 "account_deleted": the account was deleted; its credentials can never sign in again.</summary>
    public class AccountDeletedException : UnauthorizedException
    {
        public const string ServerCode = "account_deleted";

        public AccountDeletedException(string message, JToken details) : base(ServerCode, message, details) { }
    }

    /// <summary>
    /// The device's kept credentials (or the session's refresh token) were refused: the player must
    /// sign in again (email and password), or the game may choose to start a new guest with
    /// BackendClient.StartOverAsNewGuestAsync. <see cref="ServerReason"/> is the server's code.
    /// </summary>
    public class SignInRequiredException : UnauthorizedException
    {
        public const string ClientCode = "sign_in_required";
        public string ServerReason { get; private set; }

        public SignInRequiredException(string message, UnauthorizedException refused = null)
            : base(ClientCode, message, refused != null ? refused.Details : null)
        {
            ServerReason = refused != null ? refused.Code : null;
        }
    }

    public class ForbiddenException : BackendException
    {
        public ForbiddenException(string code, string message, JToken details) : base(403, code, message, details) { }
    }

    /// <summary>403 "account_banned": the account is banned; sign-in and every call are refused.</summary>
    public class AccountBannedException : ForbiddenException
    {
        public const string ServerCode = "account_banned";

        public AccountBannedException(string message, JToken details) : base(ServerCode, message, details) { }
    }

    public class NotFoundException : BackendException
    {
        public NotFoundException(string code, string message, JToken details) : base(404, code, message, details) { }
    }

    /// <summary>409: the state changed under the caller; <see cref="BackendException.Details"/> carries the current state.</summary>
    public class ConflictException : BackendException
    {
        public ConflictException(string code, string message, JToken details) : base(409, code, message, details) { }
    }

    public class PayloadTooLargeException : BackendException
    {
        public PayloadTooLargeException(string code, string message, JToken details) : base(413, code, message, details) { }
    }

    public class RateLimitedException : BackendException
    {
        public RateLimitedException(string code, string message, JToken details, TimeSpan? retryAfter) : base(429, code, message, details, retryAfter) { }
    }

    /// <summary>503: the backend's store is busy; retry after <see cref="BackendException.RetryAfter"/>.</summary>
    public class ServiceUnavailableException : BackendException
    {
        public ServiceUnavailableException(string code, string message, JToken details, TimeSpan? retryAfter) : base(503, code, message, details, retryAfter) { }
    }
}
