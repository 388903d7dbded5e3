using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    /// <summary>One HTTP request as the client builds it: a method, an absolute URL, headers and a JSON body.</summary>
    public sealed class HttpRequestData
    {
        public string Method = "GET";
        public string Url = "";
        public Dictionary<string, string> Headers = new Dictionary<string, string>();
        /// <summary>The body as text (JSON); see BodyBytes for raw bytes.</summary>
        public string Body;
        /// <summary>A raw body (a large save sent to a presigned URL); takes precedence over Body.</summary>
        public byte[] BodyBytes;
        public int TimeoutSeconds = 30;

        /// <summary>Headers the HTTP stack sets itself from the body; transports do not copy them.</summary>
        public static bool IsDerivedHeader(string name)
        {
            return string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>What came back. Header names are case-insensitive.</summary>
    public sealed class HttpResponseData
    {
        public int Status;
        public string Body = "";
        public Dictionary<string, string> Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        public string Header(string name)
        {
            string value;
            return Headers.TryGetValue(name, out value) ? value : null;
        }
    }

    /// <summary>
    /// Sends one request. Answers any HTTP status as a response; throws NetworkException only when
    /// no response arrived (no connection, timeout, aborted).
    /// </summary>
    public interface ITransport
    {
        Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken);
    }
}
