// Reads the IL of every method of the given assemblies (a build of the package's player code
// with UNITY_WEBGL defined) and lists each call, field or type reference that a WebGL player
// cannot run: threads, the thread pool, timers, Task.Delay/Task.Run, blocking waits, HttpClient.
// Prints one "FORBIDDEN <member> in <method>" line per finding and exits 1 when there is any.
// Usage: mono PlayerBuildCheck.exe Assembly.dll [...]
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;

public static class PlayerBuildCheck
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null))
        .ToDictionary(o => o.Value);

    // Type names (any member) and single members that need threads or sockets WebGL does not have.
    private static readonly string[] ForbiddenTypes =
    {
        "System.Threading.Thread", "System.Threading.ThreadPool", "System.Threading.Timer", "System.Timers.Timer",
        "System.Threading.Tasks.Parallel", "System.Threading.Tasks.TaskFactory", "System.Net.Http.",
        "System.Net.Sockets.", "System.Threading.Tasks.TaskScheduler",
    };

    private static readonly string[] ForbiddenMembers =
    {
        "System.Threading.Tasks.Task.Delay", "System.Threading.Tasks.Task.Run", "System.Threading.Tasks.Task.Wait",
        "System.Threading.Tasks.Task.WaitAll", "System.Threading.Tasks.Task.WaitAny", "System.Threading.Tasks.Task.get_Factory",
        "System.Threading.Tasks.Task.ConfigureAwait", "System.Threading.Tasks.Task`1.ConfigureAwait",
        "System.Threading.CancellationTokenSource.CancelAfter", "System.Threading.SemaphoreSlim.Wait",
        "System.Threading.ManualResetEventSlim.Wait", "System.Threading.WaitHandle.WaitOne",
    };

    public static int Main(string[] args)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(args[0]));
        AppDomain.CurrentDomain.AssemblyResolve += (sender, e) =>
        {
            var candidate = Path.Combine(folder, new AssemblyName(e.Name).Name + ".dll");
            return File.Exists(candidate) ? Assembly.LoadFrom(candidate) : null;
        };
        var findings = new List<string>();
        var methods = 0;
        foreach (var path in args)
        {
            var assembly = Assembly.LoadFrom(path);
            foreach (var type in assembly.GetTypes())
            {
                var flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
                foreach (var method in type.GetMethods(flags).Cast<MethodBase>().Concat(type.GetConstructors(flags)))
                {
                    var body = method.GetMethodBody();
                    if (body == null) continue;
                    methods++;
                    foreach (var local in body.LocalVariables) Check(local.LocalType, null, method, findings);
                    foreach (var member in References(method, body.GetILAsByteArray())) Check(member as Type ?? member.DeclaringType, member, method, findings);
                }
                foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
                {
                    Check(field.FieldType, null, field, findings);
                }
            }
        }
        foreach (var finding in findings.Distinct()) Console.WriteLine(finding);
        Console.WriteLine("checked " + methods + " methods: " + findings.Distinct().Count() + " forbidden references");
        return findings.Count > 0 ? 1 : 0;
    }

    private static void Check(Type type, MemberInfo member, MemberInfo where, List<string> findings)
    {
        if (type == null) return;
        var typeName = Name(type);
        var memberName = member == null || member is Type ? typeName : typeName + "." + member.Name;
        var bad = ForbiddenTypes.Any(t => typeName == t || (t.EndsWith(".") && typeName.StartsWith(t, StringComparison.Ordinal)))
            || ForbiddenMembers.Contains(memberName);
        if (bad) findings.Add("FORBIDDEN " + memberName + " in " + Name(where.DeclaringType) + "." + where.Name);
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var arg in type.GetGenericArguments()) Check(arg, null, where, findings);
        }
    }

    private static string Name(Type type)
    {
        if (type == null) return "?";
        if (type.IsGenericType) type = type.GetGenericTypeDefinition();
        return type.FullName ?? type.Name;
    }

    /// <summary>Every member or type a method's IL refers to (calls, field accesses, type tokens).</summary>
    private static IEnumerable<MemberInfo> References(MethodBase method, byte[] il)
    {
        var typeArgs = method.DeclaringType != null && method.DeclaringType.IsGenericType ? method.DeclaringType.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var i = 0;
        while (i < il.Length)
        {
            short value = il[i++];
            if (value == 0xFE) value = (short)(0xFE00 | il[i++]);
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    var count = BitConverter.ToInt32(il, i);
                    i += 4 + 4 * count;
                    break;
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                case OperandType.InlineType:
                case OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, i);
                    i += 4;
                    MemberInfo resolved = null;
                    try
                    {
                        resolved = method.Module.ResolveMember(token, typeArgs, methodArgs);
                    }
                    catch (Exception e)
                    {
                        throw new InvalidOperationException("cannot resolve token " + token + " in " + method.DeclaringType + "." + method.Name, e);
                    }
                    yield return resolved;
                    break;
                default:
                    i += 4;
                    break;
            }
        }
    }
}
