// Outside Unity, in the editor and in dedicated server builds only: player builds use UnityWebRequest.
#if !UNITY_5_3_OR_NEWER || UNITY_EDITOR || UNITY_SERVER
using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    /// <summary>
    /// An ITransport over System.Net.Http.HttpClient: editor tools, dedicated servers, tests. Not
    /// compiled into player builds (WebGL has no sockets or threads): use UnityWebRequestTransport.
    /// </summary>
    public sealed class HttpClientTransport : ITransport, IDisposable
    {
        private readonly HttpClient _http;
        private readonly bool _owns;

        public HttpClientTransport() : this(new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan }, true) { }

        public HttpClientTransport(HttpClient http, bool ownsClient = false)
        {
            _http = http;
            _owns = ownsClient;
        }

        public async Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken)
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            using (var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url))
            {
                timeout.CancelAfter(TimeSpan.FromSeconds(Math.Max(1, request.TimeoutSeconds)));
                if (request.BodyBytes != null)
                {
                    message.Content = new ByteArrayContent(request.BodyBytes);
                }
                else if (request.Body != null)
                {
                    message.Content = new StringContent(request.Body, Encoding.UTF8, "application/json");
                }
                foreach (var header in request.Headers)
                {
                    if (HttpRequestData.IsDerivedHeader(header.Key)) continue;
                    if (string.Equals(header.Key, "Content-Type", StringComparison.OrdinalIgnoreCase))
                    {
                        if (message.Content != null)
                        {
                            message.Content.Headers.Remove("Content-Type");
                            message.Content.Headers.TryAddWithoutValidation("Content-Type", header.Value);
                        }
                        continue;
                    }
                    if (!message.Headers.TryAddWithoutValidation(header.Key, header.Value) && message.Content != null)
                    {
                        message.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                    }
                }
                HttpResponseMessage response;
                try
                {
                    response = await _http.SendAsync(message, timeout.Token);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException e)
                {
                    throw new NetworkException("request timed out after " + request.TimeoutSeconds + " s", e);
                }
                catch (HttpRequestException e)
                {
                    throw new NetworkException(e.Message, e);
                }
                using (response)
                {
                    var result = new HttpResponseData { Status = (int)response.StatusCode };
                    var headers = response.Headers.Concat(response.Content != null
                        ? response.Content.Headers
                        : Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>());
                    foreach (var header in headers)
                    {
                        result.Headers[header.Key] = string.Join(",", header.Value);
                    }
                    result.Body = response.Content != null ? await response.Content.ReadAsStringAsync() : "";
                    return result;
                }
            }
        }

        public void Dispose()
        {
            if (_owns) _http.Dispose();
        }
    }
}
#endif
