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
        public string Body;
        public int TimeoutSeconds = 30;
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
