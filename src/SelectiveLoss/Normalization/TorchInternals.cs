using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// Every private member of TorchSharp that SelectiveLoss reads, in one place, each with the type it must have.
/// </summary>
/// <remarks>
/// The package depends on TorchSharp <c>[0.107.0, 0.108.0)</c> because of these reads. Each read fails closed: when a
/// member is missing or has another type, the swapper refuses (naming it) instead of guessing; a test pins the whole
/// list against the TorchSharp in use, so an upgrade that renames one is noticed before anything ships.
/// </remarks>
internal static class TorchInternals
{
    private const BindingFlags InstanceDeclared = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    private static readonly HashSet<string> Simulated = new(StringComparer.Ordinal);

    /// <summary>The registry behind <c>named_children()</c>, <c>parameters()</c>, <c>state_dict()</c>, <c>train()</c> and <c>.to()</c>.</summary>
    public static readonly InternalField Registry = new(typeof(nn.Module), "_internal_submodules", typeof(OrderedDict<string, nn.Module>));

    /// <summary>The parameter registry that <see cref="ChannelGroupNorm"/> updates when it moves its parameters.</summary>
    public static readonly InternalField Parameters = new(typeof(nn.Module), "_internal_params", typeof(OrderedDict<string, Parameter>));

    /// <summary>The device fields that <see cref="ChannelGroupNorm"/> keeps in step with its parameters.</summary>
    public static readonly InternalField DeviceType = new(typeof(nn.Module), "_deviceType", typeof(TorchSharp.DeviceType));

    /// <summary>The device index that <see cref="ChannelGroupNorm"/> keeps in step with its parameters.</summary>
    public static readonly InternalField DeviceIndex = new(typeof(nn.Module), "_deviceIndex", typeof(int));

    /// <summary>The modules a <c>Sequential</c>'s forward calls.</summary>
    public static readonly InternalField SequentialModules = new(typeof(Sequential), "_modules", typeof(List<nn.IModule<Tensor, Tensor>>));

    /// <summary>The names a <c>Sequential</c> reports for its modules.</summary>
    public static readonly InternalField SequentialNames = new(typeof(Sequential), "_names", typeof(List<string>));

    /// <summary>The items a <c>ModuleList&lt;T&gt;</c>'s indexer and enumerator read.</summary>
    public static readonly InternalField ModuleListItems = new(typeof(ModuleList<>), "_list", typeof(List<>));

    /// <summary>The items a <c>ModuleDict&lt;T&gt;</c>'s string indexer reads.</summary>
    public static readonly InternalField ModuleDictItems = new(typeof(ModuleDict<>), "_dict", typeof(Dictionary<,>));

    /// <summary>The hook dictionaries of every <c>Module&lt;T, TResult&gt;</c>; a hooked BatchNorm is never replaced.</summary>
    public static readonly IReadOnlyList<InternalField> HookFields = new[] { "pre_hooks", "post_hooks", "module_pre_hooks", "module_post_hooks" }
        .Select(name => new InternalField(typeof(nn.HookableModule<,>), name, typeof(Dictionary<,>)))
        .ToArray();

    /// <summary>Gets every private member SelectiveLoss reads.</summary>
    public static IReadOnlyList<InternalField> All { get; } =
        new[] { Registry, Parameters, DeviceType, DeviceIndex, SequentialModules, SequentialNames, ModuleListItems, ModuleDictItems }
            .Concat(HookFields)
            .ToArray();

    /// <summary>Gets the assembly of TorchSharp, whose own fields are never user state.</summary>
    public static Assembly TorchSharpAssembly { get; } = typeof(nn.Module).Assembly;

    /// <summary>Gets the members that are missing or of another type in the TorchSharp in use.</summary>
    public static IReadOnlyList<InternalField> Missing => All.Where(f => f.Field is null).ToList();

    /// <summary>
    /// Makes the named members (<see cref="InternalField.Name"/>) look missing until the result is disposed, to test
    /// that every read fails closed. Not thread-safe: for tests in a non-parallel collection only.
    /// </summary>
    /// <param name="names">Names such as <c>"HookableModule.post_hooks"</c>.</param>
    /// <returns>Restores the members when disposed.</returns>
    internal static IDisposable SimulateMissing(params string[] names)
    {
        foreach (string name in names)
        {
            if (All.All(f => f.Name != name))
            {
                throw new ArgumentException($"'{name}' is not one of the internals SelectiveLoss reads.", nameof(names));
            }

            Simulated.Add(name);
        }

        return new Restore(names);
    }

    /// <summary>The registry of <paramref name="module"/>.</summary>
    /// <exception cref="InvalidOperationException">TorchSharp's registry is not as expected.</exception>
    public static OrderedDict<string, nn.Module> RegistryOf(nn.Module module) =>
        Registry.Field?.GetValue(module) as OrderedDict<string, nn.Module>
        ?? throw new InvalidOperationException(Registry.Problem);

    /// <summary>Sequential's private module and name lists, or null when they cannot be read.</summary>
    public static (IList Modules, IList Names)? SequentialLists(Sequential sequential) =>
        SequentialModules.Field?.GetValue(sequential) is IList modules && SequentialNames.Field?.GetValue(sequential) is IList names
            ? (modules, names)
            : null;

    /// <summary>The private list of a <c>ModuleList&lt;T&gt;</c>, or null when it cannot be read.</summary>
    public static IList? ListItems(nn.Module moduleList) =>
        ModuleListItems.FieldOn(moduleList.GetType())?.GetValue(moduleList) as IList;

    /// <summary>The values of a <c>ModuleDict&lt;T&gt;</c>'s private dictionary, or null when it cannot be read.</summary>
    public static IEnumerable<object?>? DictItems(nn.Module moduleDict) =>
        ModuleDictItems.FieldOn(moduleDict.GetType())?.GetValue(moduleDict) is IDictionary d ? d.Values.Cast<object?>().ToList() : null;

    /// <summary>The string-key indexer of a <c>ModuleDict&lt;T&gt;</c>, or null when it has none.</summary>
    public static PropertyInfo? ModuleDictIndexer(nn.Module moduleDict, Type elementType) =>
        moduleDict.GetType().GetProperty("Item", elementType, new[] { typeof(string) });

    /// <summary>
    /// Whether the module has forward or module hooks (which cannot be moved to a replacement); null when they cannot
    /// be seen (a hook field is missing or is not a dictionary), which callers must treat as a refusal.
    /// </summary>
    public static bool? HasHooks(nn.Module module)
    {
        bool any = false;
        foreach (InternalField hook in HookFields)
        {
            FieldInfo? field = hook.FieldOn(module.GetType());
            if (field is null || field.GetValue(module) is not ICollection hooks)
            {
                return null;
            }

            any |= hooks.Count > 0;
        }

        return any;
    }

    /// <summary>The element type <c>T</c> of a <c>ModuleList&lt;T&gt;</c> or <c>ModuleDict&lt;T&gt;</c>, if the module is one.</summary>
    public static Type? ContainerElementType(nn.Module module, Type genericDefinition) =>
        ClosedBase(module.GetType(), genericDefinition)?.GetGenericArguments()[0];

    /// <summary>Explains that a TorchSharp internal is not as SelectiveLoss expects.</summary>
    public static string Changed(string what) =>
        $"TorchSharp's {what} is not as in TorchSharp 0.107.0, which SelectiveLoss was built and tested against " +
        "(the package accepts TorchSharp [0.107.0, 0.108.0)); it cannot replace modules safely with this TorchSharp.";

    private static Type? ClosedBase(Type? type, Type genericDefinition)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == genericDefinition)
            {
                return type;
            }
        }

        return null;
    }

    /// <summary>One private field of TorchSharp that SelectiveLoss reads, and the type it must have.</summary>
    /// <param name="declaringType">The declaring type (an open generic definition for generic types).</param>
    /// <param name="fieldName">The field's name.</param>
    /// <param name="expectedType">The field's type (an open generic definition when it depends on the declaring type's
    /// type arguments).</param>
    internal sealed class InternalField(Type declaringType, string fieldName, Type expectedType)
    {
        private readonly FieldInfo? declared = Lookup(declaringType, fieldName, expectedType);

        /// <summary>Gets the name as messages show it, <c>Type.field</c>.</summary>
        public string Name { get; } = $"{ShortName(declaringType)}.{fieldName}";

        /// <summary>Gets the field on the declaring type, or null when it is missing or of another type.</summary>
        public FieldInfo? Field => Simulated.Contains(Name) ? null : declared;

        /// <summary>Gets the field's expected type, as messages show it.</summary>
        public string ExpectedType { get; } = Display(expectedType);

        /// <summary>Gets a message that names the field, what was expected and what to do.</summary>
        public string Problem => Changed($"{Name} ({ExpectedType})");

        /// <summary>The field as declared on the closed base type of <paramref name="type"/>, or null.</summary>
        public FieldInfo? FieldOn(Type type)
        {
            if (Field is null)
            {
                return null;
            }

            if (!declaringType.IsGenericTypeDefinition)
            {
                return declaringType.IsAssignableFrom(type) ? Field : null;
            }

            Type? closed = ClosedBase(type, declaringType);
            return closed?.GetField(fieldName, InstanceDeclared);
        }

        private static FieldInfo? Lookup(Type declaringType, string fieldName, Type expectedType)
        {
            FieldInfo? found = declaringType.GetField(fieldName, InstanceDeclared);
            if (found is null)
            {
                return null;
            }

            Type actual = found.FieldType;
            bool matches = expectedType.IsGenericTypeDefinition
                ? actual.IsGenericType && actual.GetGenericTypeDefinition() == expectedType
                : actual == expectedType;
            return matches ? found : null;
        }

        private static string ShortName(Type type) =>
            type.IsGenericType ? type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)] : type.Name;

        private static string Display(Type type) =>
            type.IsGenericType ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Display))}>" : type.Name;
    }

    private sealed class Restore(string[] names) : IDisposable
    {
        public void Dispose()
        {
            foreach (string name in names)
            {
                Simulated.Remove(name);
            }
        }
    }
}
