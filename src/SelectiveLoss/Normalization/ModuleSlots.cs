using System;
using System.Collections;
using System.Reflection;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// One place that holds a module: a registry entry, a C# field, a container's list. A swap must rewrite every slot
/// that holds a BatchNorm, because TorchSharp's forward reads fields and lists while parameters() and state_dict()
/// read the registry.
/// </summary>
internal abstract class ModuleSlot
{
    /// <summary>Puts <paramref name="module"/> into the slot.</summary>
    public abstract void Set(nn.Module module);
}

/// <summary>An entry of a module's registry (<c>_internal_submodules</c>), replaced in place so the order is kept.</summary>
internal sealed class RegistrySlot(nn.Module owner, string name) : ModuleSlot
{
    public override void Set(nn.Module module) => TorchInternals.RegistryOf(owner)[name] = module;
}

/// <summary>A C# instance field (of any accessibility, <c>readonly</c> included) of a custom module.</summary>
internal sealed class FieldSlot(object owner, FieldInfo field) : ModuleSlot
{
    public override void Set(nn.Module module) => field.SetValue(owner, module);
}

/// <summary>A position in a non-generic view of a container's private list (Sequential, ModuleList).</summary>
internal sealed class ListSlot(IList list, int index) : ModuleSlot
{
    public override void Set(nn.Module module) => list[index] = module;
}

/// <summary>A key of a <c>ModuleDict&lt;T&gt;</c>, set through its string indexer (which updates its list and dictionary).</summary>
internal sealed class DictionarySlot(object dictionary, PropertyInfo indexer, string key) : ModuleSlot
{
    public override void Set(nn.Module module) => indexer.SetValue(dictionary, module, new object[] { key });
}
