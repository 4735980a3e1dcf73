using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// Reflection on TorchSharp 0.107.0's private state, in one place. Each member checks the shape it expects and says
/// so when TorchSharp changed, so that a TorchSharp upgrade fails loudly instead of swapping half a model.
/// </summary>
internal static class TorchInternals
{
    private const BindingFlags InstanceAny = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static readonly FieldInfo? RegistryField = typeof(nn.Module).GetField("_internal_submodules", InstanceAny);

    private static readonly FieldInfo? SequentialModules = typeof(TorchSharp.Modules.Sequential).GetField("_modules", InstanceAny);

    private static readonly FieldInfo? SequentialNames = typeof(TorchSharp.Modules.Sequential).GetField("_names", InstanceAny);

    private static readonly string[] HookFields = { "pre_hooks", "post_hooks", "module_pre_hooks", "module_post_hooks" };

    /// <summary>Gets the assembly of TorchSharp, whose own fields are never user state.</summary>
    public static Assembly TorchSharpAssembly { get; } = typeof(nn.Module).Assembly;

    /// <summary>The registry that <c>named_children()</c>, <c>parameters()</c>, <c>state_dict()</c>, <c>train()</c> and <c>.to()</c> walk.</summary>
    public static OrderedDict<string, nn.Module> Registry(nn.Module module) =>
        RegistryField?.GetValue(module) as OrderedDict<string, nn.Module>
        ?? throw new InvalidOperationException(Changed("Module._internal_submodules (OrderedDict<string, Module>)"));

    /// <summary>Whether the registry can be reached (checked during validation, before any change).</summary>
    public static bool HasRegistry => RegistryField?.FieldType == typeof(OrderedDict<string, nn.Module>);

    /// <summary>Sequential's private module and name lists, or null when TorchSharp changed them.</summary>
    public static (IList Modules, IList Names)? SequentialLists(TorchSharp.Modules.Sequential sequential) =>
        SequentialModules?.GetValue(sequential) is IList modules && SequentialNames?.GetValue(sequential) is IList names
            ? (modules, names)
            : null;

    /// <summary>The private <c>_list</c> of a <c>ModuleList&lt;T&gt;</c>, or null when TorchSharp changed it.</summary>
    public static IList? ModuleListItems(nn.Module moduleList) =>
        FindField(moduleList.GetType(), "_list")?.GetValue(moduleList) as IList;

    /// <summary>The values of a <c>ModuleDict&lt;T&gt;</c>'s private dictionary (empty when TorchSharp changed it).</summary>
    public static IEnumerable<object?> ModuleDictItems(nn.Module moduleDict) =>
        FindField(moduleDict.GetType(), "_dict")?.GetValue(moduleDict) is IDictionary d ? d.Values.Cast<object?>() : Enumerable.Empty<object?>();

    /// <summary>The string-key indexer of a <c>ModuleDict&lt;T&gt;</c>, or null when TorchSharp changed it.</summary>
    public static PropertyInfo? ModuleDictIndexer(nn.Module moduleDict, Type elementType) =>
        moduleDict.GetType().GetProperty("Item", elementType, new[] { typeof(string) });

    /// <summary>Whether the module has forward hooks (which cannot be moved to a replacement).</summary>
    public static bool HasHooks(nn.Module module)
    {
        for (Type? t = module.GetType(); t is not null; t = t.BaseType)
        {
            foreach (string name in HookFields)
            {
                if (t.GetField(name, InstanceAny | BindingFlags.DeclaredOnly)?.GetValue(module) is ICollection { Count: > 0 })
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The element type <c>T</c> of a <c>ModuleList&lt;T&gt;</c> or <c>ModuleDict&lt;T&gt;</c>, if the module is one.</summary>
    public static Type? ContainerElementType(nn.Module module, Type genericDefinition)
    {
        for (Type? t = module.GetType(); t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == genericDefinition)
            {
                return t.GetGenericArguments()[0];
            }
        }

        return null;
    }

    private static FieldInfo? FindField(Type? type, string name)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (type.GetField(name, InstanceAny | BindingFlags.DeclaredOnly) is { } field)
            {
                return field;
            }
        }

        return null;
    }

    /// <summary>Explains that TorchSharp's internals are not as SelectiveLoss expects.</summary>
    public static string Changed(string what) =>
        $"TorchSharp's {what} is not as in TorchSharp 0.107.0, which SelectiveLoss was built and tested against; " +
        "it cannot replace modules safely with this TorchSharp version.";
}
