using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using UnityEngine;
using UnityEngine.Networking;

namespace GameBackend.Unity
{
    /// <summary>
    /// An ITransport over UnityWebRequest, for player builds (every platform Unity supports,
    /// WebGL included). Call it from the main thread: the client's awaits resume there, and the
    /// completion callback and any abort run there too.
    /// </summary>
    public sealed class UnityWebRequestTransport : ITransport
    {
        public Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken)
        {
            var source = new TaskCompletionSource<HttpResponseData>();
            var web = new UnityWebRequest(request.Url, request.Method);
            if (request.BodyBytes != null || request.Body != null)
            {
                web.uploadHandler = new UploadHandlerRaw(request.BodyBytes ?? Encoding.UTF8.GetBytes(request.Body));
                string contentType;
                web.uploadHandler.contentType = request.Headers.TryGetValue("Content-Type", out contentType) ? contentType
                    : request.BodyBytes != null ? "application/octet-stream" : "application/json";
            }
            web.downloadHandler = new DownloadHandlerBuffer();
            web.timeout = Math.Max(1, request.TimeoutSeconds);
            foreach (var header in request.Headers)
            {
                // UnityWebRequest refuses to set Content-Length itself; it derives it from the body.
                if (!HttpRequestData.IsDerivedHeader(header.Key)) web.SetRequestHeader(header.Key, header.Value);
            }
            var finished = false;
            var late = false;
            var watch = new CancellationTokenSource();
            // Cancellation may come from any thread (a timer, a linked token): the abort is posted
            // to the context SendAsync was called on (Unity's main thread), where UnityWebRequest lives.
            var registration = cancellationToken.Register(() =>
            {
                if (!finished) web.Abort();
            }, true);
            var operation = web.SendWebRequest();
            // UnityWebRequest.timeout is the first line; this frame-driven watch is the backstop
            // for platforms where it is not honoured. Both end in an abort on the main thread.
            AbortWhenLate(web, Math.Max(1, request.TimeoutSeconds) + 1, () => finished, () => late = true, watch.Token);
            operation.completed += _ =>
            {
                finished = true;
                registration.Dispose();
                watch.Cancel();
                try
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        source.TrySetCanceled();
                    }
                    else if (web.result == UnityWebRequest.Result.ConnectionError || web.responseCode == 0)
                    {
                        source.TrySetException(new NetworkException(late ? "request timed out after " + request.TimeoutSeconds + " s" : web.error ?? "no response"));
                    }
                    else
                    {
                        // ProtocolError is an HTTP error status: a response like any other here.
                        source.TrySetResult(ToResponse(web));
                    }
                }
                catch (Exception e)
                {
                    source.TrySetException(e);
                }
                finally
                {
                    web.Dispose();
                }
            };
            return source.Task;
        }

        private static async void AbortWhenLate(UnityWebRequest web, int seconds, Func<bool> finished, Action markLate, CancellationToken stop)
        {
            try
            {
                await TimeSources.Default.Delay(TimeSpan.FromSeconds(seconds), stop);
                if (finished()) return;
                markLate();
                web.Abort();
            }
            catch (OperationCanceledException)
            {
                // answered in time
            }
            catch (Exception e)
            {
                Debug.LogException(e);
            }
        }

        private static HttpResponseData ToResponse(UnityWebRequest web)
        {
            var response = new HttpResponseData
            {
                Status = (int)web.responseCode,
                Body = web.downloadHandler != null ? web.downloadHandler.text ?? "" : "",
            };
            var headers = web.GetResponseHeaders();
            if (headers != null)
            {
                foreach (var header in headers) response.Headers[header.Key] = header.Value;
            }
            return response;
        }
    }
}
