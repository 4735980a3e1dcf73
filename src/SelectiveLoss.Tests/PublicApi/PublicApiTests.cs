using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using FluentAssertions;
using SelectiveLoss.Selection;
using Xunit;

namespace SelectiveLoss.Tests.PublicApi;

/// <summary>
/// The public surface of SelectiveLoss is checked in as text (PublicApi/SelectiveLoss.approved.txt), so a change to it
/// is a visible decision in review. When this test fails, it writes SelectiveLoss.received.txt beside the approved
/// file: compare the two, and if the change is intended, copy received over approved.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void PublicApi_MatchesApprovedText()
    {
        string approvedPath = Path.Combine(RepositoryFiles.Root, "src", "SelectiveLoss.Tests", "PublicApi", "SelectiveLoss.approved.txt");
        string receivedPath = Path.ChangeExtension(approvedPath, null).Replace(".approved", ".received", StringComparison.Ordinal) + ".txt";
        string actual = Describe(typeof(SelectiveLossReducer).Assembly);
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : string.Empty;
        if (actual != approved)
        {
            File.WriteAllText(receivedPath, actual);
        }
        else if (File.Exists(receivedPath))
        {
            File.Delete(receivedPath);
        }

        actual.Should().Be(approved, $"the public API changed: compare {receivedPath} with {approvedPath}, and copy it over if intended");
    }

    private static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(TypeHeader(type)).Append('\n');
            var members = new List<string>();
            const BindingFlags Flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (MemberInfo member in type.GetMembers(Flags | BindingFlags.NonPublic))
            {
                string? line = Member(member);
                if (line is not null)
                {
                    members.Add("  " + line);
                }
            }

            foreach (string line in members.OrderBy(m => m, StringComparer.Ordinal))
            {
                text.Append(line).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string TypeHeader(Type type)
    {
        string kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct"
            : type.IsAbstract && type.IsSealed ? "static class" : type.IsSealed ? "sealed class" : type.IsAbstract ? "abstract class" : "class";
        var bases = new List<string>();
        if (type.BaseType is not null && type.BaseType != typeof(object) && type.BaseType != typeof(Enum) && type.BaseType != typeof(ValueType))
        {
            bases.Add(Name(type.BaseType));
        }

        bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Select(Name).Where(n => !n.StartsWith("IEquatable", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal));
        return $"{kind} {type.FullName}" + (bases.Count > 0 ? " : " + string.Join(", ", bases) : string.Empty);
    }

    private static string? Member(MemberInfo member)
    {
        switch (member)
        {
            case ConstructorInfo c when c.IsPublic || c.IsFamily:
                return $"ctor({Parameters(c.GetParameters())})";
            case MethodInfo m when (m.IsPublic || m.IsFamily) && !m.IsSpecialName && m.Name != "<Clone>$":
                return $"{(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType)} {m.Name}({Parameters(m.GetParameters())})";
            case PropertyInfo p when (p.GetMethod?.IsPublic ?? false) || (p.SetMethod?.IsPublic ?? false):
                bool isStatic = (p.GetMethod ?? p.SetMethod)!.IsStatic;
                string accessors = (p.GetMethod?.IsPublic ?? false ? "get; " : string.Empty) +
                    (p.SetMethod?.IsPublic ?? false ? (p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.Name == "IsExternalInit") ? "init; " : "set; ") : string.Empty);
                return $"{(isStatic ? "static " : string.Empty)}{Name(p.PropertyType)} {p.Name} {{ {accessors}}}";
            case FieldInfo f when (f.IsPublic || f.IsFamily) && !f.IsSpecialName:
                return f.IsLiteral ? $"const {Name(f.FieldType)} {f.Name} = {Convert.ToString(f.GetRawConstantValue(), CultureInfo.InvariantCulture)}" : $"{(f.IsStatic ? "static " : string.Empty)}{Name(f.FieldType)} {f.Name}";
            case EventInfo e when e.AddMethod?.IsPublic ?? false:
                return $"event {Name(e.EventHandlerType!)} {e.Name}";
            default:
                return null;
        }
    }

    private static string Parameters(ParameterInfo[] parameters) =>
        string.Join(", ", parameters.Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (Convert.ToString(p.DefaultValue, CultureInfo.InvariantCulture) ?? "null") : string.Empty)}"));

    private static string Name(Type type)
    {
        if (type.IsGenericType)
        {
            string name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
            return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>";
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (type.IsByRef)
        {
            return "ref " + Name(type.GetElementType()!);
        }

        return type.Name;
    }
}
