// Compile-only stand-ins for the UnityEngine types the package uses, with Unity's own
// signatures (2021.3), so the Unity-only code is type-checked outside the editor. Nothing
// here runs: every member that would do work throws.
using System;
using System.Collections;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object
    {
        public string name { get; set; }
        public static void DontDestroyOnLoad(Object target) { throw new NotSupportedException(); }
    }

    public class Component : Object
    {
        public GameObject gameObject { get { throw new NotSupportedException(); } }
        public T GetComponent<T>() { throw new NotSupportedException(); }
    }

    public class GameObject : Object
    {
        public T AddComponent<T>() where T : Component { throw new NotSupportedException(); }
        public T GetComponent<T>() { throw new NotSupportedException(); }
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; }
        public bool isActiveAndEnabled { get { throw new NotSupportedException(); } }
    }

    public class YieldInstruction { }

    public sealed class Coroutine : YieldInstruction { }

    public sealed class WaitForSeconds : YieldInstruction
    {
        public WaitForSeconds(float seconds) { }
    }

    public abstract class CustomYieldInstruction : IEnumerator
    {
        public abstract bool keepWaiting { get; }
        public object Current { get { return null; } }
        public bool MoveNext() { return keepWaiting; }
        public virtual void Reset() { }
    }

    public sealed class WaitUntil : CustomYieldInstruction
    {
        public WaitUntil(Func<bool> predicate) { }
        public override bool keepWaiting { get { throw new NotSupportedException(); } }
    }

    public class MonoBehaviour : Behaviour
    {
        public Coroutine StartCoroutine(IEnumerator routine) { throw new NotSupportedException(); }
        public void StopCoroutine(Coroutine routine) { throw new NotSupportedException(); }
        public void StopAllCoroutines() { throw new NotSupportedException(); }
    }

    public class AsyncOperation : YieldInstruction
    {
        public bool isDone { get { throw new NotSupportedException(); } }
        public float progress { get { throw new NotSupportedException(); } }
        public event Action<AsyncOperation> completed { add { throw new NotSupportedException(); } remove { } }
    }

    public static class Debug
    {
        public static void Log(object message) { throw new NotSupportedException(); }
        public static void LogWarning(object message) { throw new NotSupportedException(); }
        public static void LogError(object message) { throw new NotSupportedException(); }
        public static void LogException(Exception exception) { throw new NotSupportedException(); }
    }

    public class AndroidJavaObject : IDisposable
    {
        public AndroidJavaObject(string className, params object[] args) { throw new NotSupportedException(); }
        public void Call(string methodName, params object[] args) { throw new NotSupportedException(); }
        public ReturnType Call<ReturnType>(string methodName, params object[] args) { throw new NotSupportedException(); }
        public void CallStatic(string methodName, params object[] args) { throw new NotSupportedException(); }
        public ReturnType CallStatic<ReturnType>(string methodName, params object[] args) { throw new NotSupportedException(); }
        public FieldType Get<FieldType>(string fieldName) { throw new NotSupportedException(); }
        public FieldType GetStatic<FieldType>(string fieldName) { throw new NotSupportedException(); }
        public void Dispose() { }
    }

    public class AndroidJavaClass : AndroidJavaObject
    {
        public AndroidJavaClass(string className) : base(className) { }
    }

    public sealed class AndroidJavaException : Exception
    {
        public AndroidJavaException(string message, string javaStackTrace) : base(message) { }
    }

    public struct Rect
    {
        public Rect(float x, float y, float width, float height) { throw new NotSupportedException(); }
    }

    public static class Screen
    {
        public static int width { get { throw new NotSupportedException(); } }
        public static int height { get { throw new NotSupportedException(); } }
    }

    public static class Mathf
    {
        public static float Min(float a, float b) { throw new NotSupportedException(); }
        public static float Round(float f) { throw new NotSupportedException(); }
    }

    public sealed class GUILayoutOption { }

    public class GUILayout
    {
        public static void BeginArea(Rect screenRect) { throw new NotSupportedException(); }
        public static void EndArea() { throw new NotSupportedException(); }
        public static void BeginHorizontal(params GUILayoutOption[] options) { throw new NotSupportedException(); }
        public static void EndHorizontal() { throw new NotSupportedException(); }
        public static void Label(string text, params GUILayoutOption[] options) { throw new NotSupportedException(); }
        public static bool Button(string text, params GUILayoutOption[] options) { throw new NotSupportedException(); }
        public static void Space(float pixels) { throw new NotSupportedException(); }
    }

    public static class PlayerPrefs
    {
        public static string GetString(string key, string defaultValue) { throw new NotSupportedException(); }
        public static string GetString(string key) { throw new NotSupportedException(); }
        public static void SetString(string key, string value) { throw new NotSupportedException(); }
        public static bool HasKey(string key) { throw new NotSupportedException(); }
        public static void DeleteKey(string key) { throw new NotSupportedException(); }
        public static void Save() { throw new NotSupportedException(); }
    }

    public static class Application
    {
        public static string persistentDataPath { get { throw new NotSupportedException(); } }
        public static bool isPlaying { get { throw new NotSupportedException(); } }
    }

    public static class Random
    {
        public static float value { get { throw new NotSupportedException(); } }
        public static float Range(float minInclusive, float maxInclusive) { throw new NotSupportedException(); }
    }

    public static class Time
    {
        public static float time { get { throw new NotSupportedException(); } }
        public static float unscaledTime { get { throw new NotSupportedException(); } }
        public static double realtimeSinceStartupAsDouble { get { throw new NotSupportedException(); } }
    }

    public class ScriptableObject : Object
    {
        public static T CreateInstance<T>() where T : ScriptableObject { throw new NotSupportedException(); }
    }

    [AttributeUsage(AttributeTargets.Class, Inherited = false)]
    public sealed class CreateAssetMenuAttribute : Attribute
    {
        public string menuName { get; set; }
        public string fileName { get; set; }
        public int order { get; set; }
    }

    public enum RuntimeInitializeLoadType
    {
        AfterSceneLoad = 0,
        BeforeSceneLoad = 1,
        AfterAssembliesLoaded = 2,
        BeforeSplashScreen = 3,
        SubsystemRegistration = 4,
    }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
    public class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute() { }
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
        public RuntimeInitializeLoadType loadType { get; set; }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class MinAttribute : PropertyAttribute
    {
        public MinAttribute(float min) { }
    }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
    public sealed class AddComponentMenu : Attribute
    {
        public AddComponentMenu(string menuName) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
    public class PropertyAttribute : Attribute { }

    public sealed class HeaderAttribute : PropertyAttribute
    {
        public HeaderAttribute(string header) { }
    }

    public sealed class TooltipAttribute : PropertyAttribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DisallowMultipleComponent : Attribute { }
}

namespace UnityEngine.Scripting
{
    [AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Enum | AttributeTargets.Constructor | AttributeTargets.Method | AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Event | AttributeTargets.Interface | AttributeTargets.Delegate, Inherited = false)]
    public class PreserveAttribute : Attribute { }
}

namespace UnityEngine.LowLevel
{
    public struct PlayerLoopSystem
    {
        public Type type;
        public PlayerLoopSystem[] subSystemList;
        public PlayerLoopSystem.UpdateFunction updateDelegate;
        public IntPtr updateFunction;
        public IntPtr loopConditionFunction;

        public delegate void UpdateFunction();
    }

    public class PlayerLoop
    {
        public static PlayerLoopSystem GetDefaultPlayerLoop() { throw new NotSupportedException(); }
        public static PlayerLoopSystem GetCurrentPlayerLoop() { throw new NotSupportedException(); }
        public static void SetPlayerLoop(PlayerLoopSystem loop) { throw new NotSupportedException(); }
    }
}

namespace UnityEngine.PlayerLoop
{
    public struct Update
    {
        public struct ScriptRunBehaviourUpdate { }
    }
}

namespace UnityEngine.Networking
{
    public class UploadHandler : IDisposable
    {
        public string contentType { get; set; }
        public void Dispose() { }
    }

    public sealed class UploadHandlerRaw : UploadHandler
    {
        public UploadHandlerRaw(byte[] data) { }
    }

    public class DownloadHandler : IDisposable
    {
        public string text { get { throw new NotSupportedException(); } }
        public byte[] data { get { throw new NotSupportedException(); } }
        public void Dispose() { }
    }

    public sealed class DownloadHandlerBuffer : DownloadHandler { }

    public sealed class UnityWebRequestAsyncOperation : AsyncOperation
    {
        public UnityWebRequest webRequest { get { throw new NotSupportedException(); } }
    }

    public class UnityWebRequest : IDisposable
    {
        public enum Result
        {
            InProgress,
            Success,
            ConnectionError,
            ProtocolError,
            DataProcessingError,
        }

        public UnityWebRequest(string url, string method) { }
        public UploadHandler uploadHandler { get; set; }
        public DownloadHandler downloadHandler { get; set; }
        public int timeout { get; set; }
        public string method { get; set; }
        public string url { get; set; }
        public long responseCode { get { throw new NotSupportedException(); } }
        public string error { get { throw new NotSupportedException(); } }
        public Result result { get { throw new NotSupportedException(); } }
        public bool isDone { get { throw new NotSupportedException(); } }
        public void SetRequestHeader(string name, string value) { throw new NotSupportedException(); }
        public string GetResponseHeader(string name) { throw new NotSupportedException(); }
        public Dictionary<string, string> GetResponseHeaders() { throw new NotSupportedException(); }
        public UnityWebRequestAsyncOperation SendWebRequest() { throw new NotSupportedException(); }
        public void Abort() { throw new NotSupportedException(); }
        public void Dispose() { }
    }
}
