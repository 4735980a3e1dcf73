using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>One module to replace (a BatchNorm, or a Conv2d for weight standardisation): every path it is registered at
/// and every slot that holds it.</summary>
internal sealed class ModuleTarget<TTarget>(TTarget module)
    where TTarget : nn.Module
{
    public TTarget Norm { get; } = module;

    /// <summary>Registered paths, in <c>named_modules()</c> order ("" for the root).</summary>
    public List<string> Paths { get; } = new();

    public List<ModuleSlot> Slots { get; } = new();

    /// <summary>Custom modules that register this module and must also hold it in a field.</summary>
    public List<(nn.Module Owner, string Path)> FieldOwners { get; } = new();

    public HashSet<nn.Module> OwnersWithField { get; } = new(ReferenceEqualityComparer.Instance);

    public bool IsRoot { get; set; }
}

/// <summary>
/// Walks a model the way TorchSharp does (the registry behind <c>named_children()</c>) and, beside it, the C# fields
/// that forward reads, and works out for every module of type <typeparamref name="TTarget"/> (BatchNorm, or Conv2d)
/// where it must be replaced, or why it cannot be.
/// </summary>
/// <typeparam name="TTarget">The type of module to replace.</typeparam>
internal sealed class ModuleScan<TTarget>
    where TTarget : nn.Module
{
    private const BindingFlags InstanceDeclared = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    private readonly Dictionary<TTarget, ModuleTarget<TTarget>> targets = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<nn.Module> registered = new(ReferenceEqualityComparer.Instance);
    private readonly List<(string Path, nn.Module Module)> walked = new();
    private readonly List<SwapRefusal> refusals = new();
    private readonly List<(string Path, TTarget Norm)> hidden = new();
    private readonly Func<TTarget, Type> replacementType;

    private ModuleScan(Func<TTarget, Type> replacementType)
    {
        this.replacementType = replacementType;
    }

    /// <summary>Every target instance reachable through the registry, in <c>named_modules()</c> order.</summary>
    public IReadOnlyList<ModuleTarget<TTarget>> Targets { get; private set; } = Array.Empty<ModuleTarget<TTarget>>();

    /// <summary>Every target that cannot be replaced, with the reason.</summary>
    public IReadOnlyList<SwapRefusal> Refusals => refusals;

    /// <summary>Targets held where TorchSharp never registered them (fields, plain collections), with a field path.</summary>
    public IReadOnlyList<(string Path, TTarget Norm)> Hidden => hidden;

    /// <summary>Every registered module with its path, root first, then in <c>named_modules()</c> order.</summary>
    public IReadOnlyList<(string Path, nn.Module Module)> Walked => walked;

    /// <summary>Scans <paramref name="root"/> for modules of type <typeparamref name="TTarget"/>.</summary>
    /// <param name="root">The model.</param>
    /// <param name="replacementType">The type of module each target would be replaced with, so that fields and
    /// containers that cannot hold it are refused.</param>
    public static ModuleScan<TTarget> Run(nn.Module root, Func<TTarget, Type> replacementType)
    {
        var scan = new ModuleScan<TTarget>(replacementType);
        // Fail closed: without every internal the swap relies on, nothing is replaced.
        IReadOnlyList<TorchInternals.InternalField> missing = TorchInternals.Missing;
        if (missing.Count > 0)
        {
            scan.refusals.AddRange(missing.Select(m => new SwapRefusal(string.Empty, m.Problem)));
            return scan;
        }

        scan.walked.Add((string.Empty, root));
        scan.registered.Add(root);
        if (root is TTarget rootNorm)
        {
            scan.Target(rootNorm, string.Empty).IsRoot = true;
        }

        scan.WalkRegistry(root, string.Empty, new HashSet<nn.Module>(ReferenceEqualityComparer.Instance));

        // Order the walk as named_modules() does (all children of a module, then each child's subtree).
        var order = root.named_modules().Select((e, i) => (e.name, i)).GroupBy(e => e.name).ToDictionary(g => g.Key, g => g.First().i);
        var ordered = scan.walked.Skip(1).OrderBy(e => order.TryGetValue(e.Path, out int i) ? i : int.MaxValue).ToList();
        scan.walked.RemoveRange(1, scan.walked.Count - 1);
        scan.walked.AddRange(ordered);

        foreach ((string path, nn.Module module) in scan.walked.DistinctBy(e => e.Module, ReferenceEqualityComparer.Instance).ToList())
        {
            scan.ScanFields(module, path);
        }

        foreach (ModuleTarget<TTarget> target in scan.targets.Values)
        {
            target.Paths.Sort((a, b) => (order.TryGetValue(a, out int i) ? i : -1).CompareTo(order.TryGetValue(b, out int j) ? j : -1));
            foreach ((nn.Module owner, string path) in target.FieldOwners)
            {
                if (!target.OwnersWithField.Contains(owner))
                {
                    scan.refusals.Add(new SwapRefusal(path,
                        $"{owner.GetType().Name} registers this {target.Norm.GetType().Name} but holds it in no field, so " +
                        "SelectiveLoss cannot prove that forward would call a replacement. Keep submodules in fields " +
                        "(then call RegisterComponents()) or in a Sequential, ModuleList or ModuleDict."));
                }
            }

            switch (TorchInternals.HasHooks(target.Norm))
            {
                case true:
                    scan.refusals.Add(new SwapRefusal(target.Paths[0],
                        "it has forward hooks, which cannot be moved to the replacement. Remove the hooks, swap, then " +
                        "register them on the replacement."));
                    break;
                case null:
                    scan.refusals.Add(new SwapRefusal(target.Paths[0],
                        $"SelectiveLoss cannot see whether it has hooks ({target.Norm.GetType().Name} does not keep them where " +
                        "TorchSharp 0.107.0 does), and a swap would silently drop them. " +
                        TorchInternals.Changed(string.Join(", ", TorchInternals.HookFields.Select(h => h.Name)))));
                    break;
                default:
                    break;
            }
        }

        scan.Targets = scan.targets.Values.OrderBy(t => order.TryGetValue(t.Paths[0], out int i) ? i : -1).ToList();
        return scan;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private static IEnumerable<FieldInfo> UserFields(Type type)
    {
        for (Type? t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            if (t.Assembly == TorchInternals.TorchSharpAssembly)
            {
                continue;
            }

            foreach (FieldInfo f in t.GetFields(InstanceDeclared))
            {
                yield return f;
            }
        }
    }

    private static List<object?> Elements(object value)
    {
        System.Collections.IEnumerable? items = value switch
        {
            IDictionary d => d.Values,
            Array a when !a.GetType().GetElementType()!.IsValueType => a,
            ICollection c when value is not Tensor && !value.GetType().IsArray => c,
            _ => null,
        };

        var result = new List<object?>();
        if (items is null)
        {
            return result;
        }

        try
        {
            foreach (object? item in items)
            {
                result.Add(item);
            }
        }
        catch (Exception e) when (e is NotImplementedException or NotSupportedException or InvalidOperationException)
        {
            // A collection that cannot be enumerated is opaque to the scan, as it is to TorchSharp's registry.
        }

        return result;
    }

    private ModuleTarget<TTarget> Target(TTarget norm, string path)
    {
        if (!targets.TryGetValue(norm, out ModuleTarget<TTarget>? target))
        {
            target = new ModuleTarget<TTarget>(norm);
            targets.Add(norm, target);
        }

        target.Paths.Add(path);
        return target;
    }

    private void WalkRegistry(nn.Module module, string path, HashSet<nn.Module> onStack)
    {
        if (!onStack.Add(module))
        {
            return;
        }

        foreach ((string name, nn.Module child) in module.named_children().ToList())
        {
            string childPath = Join(path, name);
            walked.Add((childPath, child));
            registered.Add(child);
            if (child is TTarget norm)
            {
                AddContainerSlots(Target(norm, childPath), module, name, childPath);
            }

            WalkRegistry(child, childPath, onStack);
        }

        onStack.Remove(module);
    }

    private void AddContainerSlots(ModuleTarget<TTarget> target, nn.Module owner, string name, string path)
    {
        if (owner is Sequential sequential)
        {
            var lists = TorchInternals.SequentialLists(sequential);
            int index = lists is { } l ? IndexOf(l.Modules, l.Names, target.Norm, name) : -1;
            if (index < 0)
            {
                refusals.Add(new SwapRefusal(path,
                    "the Sequential's lists and its registry disagree, or " + TorchInternals.Changed("Sequential._modules/_names")));
                return;
            }

            target.Slots.Add(new ListSlot(lists!.Value.Modules, index));
            return;
        }

        if (TorchInternals.ContainerElementType(owner, typeof(ModuleList<>)) is { } listElement)
        {
            if (!listElement.IsAssignableFrom(replacementType(target.Norm)))
            {
                refusals.Add(new SwapRefusal(path,
                    $"it sits in a ModuleList<{listElement.Name}>, which cannot hold its replacement, a {replacementType(target.Norm).Name}. " +
                    "Declare the list as ModuleList<Module>."));
                return;
            }

            IList? items = TorchInternals.ListItems(owner);
            if (items is null || !int.TryParse(name, out int index) || index >= items.Count || !ReferenceEquals(items[index], target.Norm))
            {
                refusals.Add(new SwapRefusal(path,
                    "the ModuleList's items and its registry disagree (was it changed after RegisterComponents()?), or " +
                    TorchInternals.ModuleListItems.Problem));
                return;
            }

            target.Slots.Add(new ListSlot(items, index));
            target.Slots.Add(new RegistrySlot(owner, name));
            return;
        }

        if (TorchInternals.ContainerElementType(owner, typeof(ModuleDict<>)) is { } dictElement)
        {
            if (!dictElement.IsAssignableFrom(replacementType(target.Norm)))
            {
                refusals.Add(new SwapRefusal(path,
                    $"it sits in a ModuleDict<{dictElement.Name}>, which cannot hold its replacement, a {replacementType(target.Norm).Name}. " +
                    "Declare the dictionary as ModuleDict<Module>."));
                return;
            }

            PropertyInfo? indexer = TorchInternals.ModuleDictIndexer(owner, dictElement);
            if (indexer is null || !ReferenceEquals(indexer.GetValue(owner, new object[] { name }), target.Norm))
            {
                refusals.Add(new SwapRefusal(path,
                    "the ModuleDict's items and its registry disagree (was it changed after RegisterComponents()?), or " +
                    TorchInternals.Changed("ModuleDict's string indexer")));
                return;
            }

            target.Slots.Add(new DictionarySlot(owner, indexer, name));
            target.Slots.Add(new RegistrySlot(owner, name));
            return;
        }

        if (owner.GetType().Assembly == TorchInternals.TorchSharpAssembly)
        {
            refusals.Add(new SwapRefusal(path,
                $"it is held by TorchSharp's {owner.GetType().Name}, a container SelectiveLoss does not know how to rewrite. " +
                "Use a Sequential, ModuleList<Module>, ModuleDict<Module> or a field of your own module."));
            return;
        }

        // A custom module: the registry entry here, and (found by ScanFields) the fields that forward reads.
        target.Slots.Add(new RegistrySlot(owner, name));
        target.FieldOwners.Add((owner, path));
    }

    private static int IndexOf(IList modules, IList names, object module, string name)
    {
        for (int i = 0; i < modules.Count && i < names.Count; i++)
        {
            if (ReferenceEquals(modules[i], module) && Equals(names[i], name))
            {
                return i;
            }
        }

        return -1;
    }

    private void ScanFields(nn.Module module, string path)
    {
        // A ModuleList or ModuleDict item added after registration is called by forward but seen by nothing else.
        IEnumerable<object?>? containerItems =
            TorchInternals.ContainerElementType(module, typeof(ModuleList<>)) is not null ? (TorchInternals.ListItems(module) is { } list ? Elements(list) : null)
            : TorchInternals.ContainerElementType(module, typeof(ModuleDict<>)) is not null ? TorchInternals.DictItems(module)
            : Enumerable.Empty<object?>();
        if (containerItems is null)
        {
            // Fail closed: items forward may call but the scan cannot see could be targets.
            refusals.Add(new SwapRefusal(path,
                $"SelectiveLoss cannot read the items of this {module.GetType().Name}, so it cannot prove that none is a " +
                $"{typeof(TTarget).Name} that forward calls. " + TorchInternals.Changed($"{TorchInternals.ModuleListItems.Name} / {TorchInternals.ModuleDictItems.Name}")));
            containerItems = Enumerable.Empty<object?>();
        }

        foreach (object? item in containerItems)
        {
            if (item is nn.Module m && !registered.Contains(m))
            {
                FindUnregistered(m, Join(path, "(unregistered item)"), new HashSet<object>(ReferenceEqualityComparer.Instance), "container item added after registration");
            }
        }

        foreach (FieldInfo field in UserFields(module.GetType()))
        {
            object? value = field.GetValue(module);
            string fieldPath = Join(path, field.Name);
            switch (value)
            {
                case null or Tensor or string or Delegate:
                    break;
                case TTarget norm when targets.TryGetValue(norm, out ModuleTarget<TTarget>? target):
                    target.OwnersWithField.Add(module);
                    if (!field.FieldType.IsAssignableFrom(replacementType(norm)))
                    {
                        refusals.Add(new SwapRefusal(target.Paths[0],
                            $"the field '{field.Name}' of {module.GetType().Name} is declared as {field.FieldType.Name}, which cannot " +
                            $"hold its replacement, a {replacementType(norm).Name}. Declare it as Module<Tensor, Tensor>."));
                    }
                    else
                    {
                        target.Slots.Add(new FieldSlot(module, field));
                    }

                    break;
                case nn.Module other when !registered.Contains(other):
                    FindUnregistered(other, fieldPath, new HashSet<object>(ReferenceEqualityComparer.Instance), "field");
                    break;
                case nn.Module:
                    break;
                default:
                    ScanCollection(value, fieldPath, field.Name, module);
                    break;
            }
        }
    }

    private void ScanCollection(object value, string fieldPath, string fieldName, nn.Module owner)
    {
        int index = 0;
        foreach (object? element in Elements(value))
        {
            string elementPath = $"{fieldPath}[{index}]";
            if (element is TTarget norm && targets.TryGetValue(norm, out ModuleTarget<TTarget>? target))
            {
                refusals.Add(new SwapRefusal(target.Paths[0],
                    $"it is also held in the plain collection field '{fieldName}' of {owner.GetType().Name} (at {elementPath}), " +
                    "which SelectiveLoss does not rewrite, so forward could go on calling the old module. Hold it in a " +
                    "ModuleList<Module> instead."));
            }
            else if (element is nn.Module module && !registered.Contains(module))
            {
                FindUnregistered(module, elementPath, new HashSet<object>(ReferenceEqualityComparer.Instance), "plain collection");
            }

            index++;
        }
    }

    private void FindUnregistered(nn.Module module, string path, HashSet<object> seen, string where)
    {
        if (!seen.Add(module) || registered.Contains(module))
        {
            return;
        }

        if (module is TTarget norm)
        {
            hidden.Add((path, norm));
            refusals.Add(new SwapRefusal(path,
                $"this {norm.GetType().Name} is held in a {where} that TorchSharp never registered (a plain array or list, " +
                "a field added after RegisterComponents(), or a field left behind by a registry-only replacement), so " +
                "parameters(), state_dict(), train() and .to() do not see it while forward may call it. Register it " +
                "(a field set before RegisterComponents(), or a ModuleList<Module>) and swap again."));
        }

        foreach ((string name, nn.Module child) in module.named_children())
        {
            FindUnregistered(child, Join(path, name), seen, where);
        }

        foreach (FieldInfo field in UserFields(module.GetType()))
        {
            object? value = field.GetValue(module);
            if (value is nn.Module child)
            {
                FindUnregistered(child, Join(path, field.Name), seen, where);
            }
            else if (value is not null and not Tensor and not string and not Delegate)
            {
                int index = 0;
                foreach (object? element in Elements(value))
                {
                    if (element is nn.Module m)
                    {
                        FindUnregistered(m, $"{Join(path, field.Name)}[{index}]", seen, "plain collection");
                    }

                    index++;
                }
            }
        }
    }
}
