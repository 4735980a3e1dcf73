// SelectiveLoss: the Debian 12 / Ubuntu 22.04 loading fix for TorchSharp's native library.
//
// This one file is compiled twice: into SelectiveLoss.dll (SELECTIVELOSS_LIBRARY defined), where the run-time fix
// (PackageCachePreloader) and the load diagnostics (TorchRuntime.Explain) use the ELF analysis; and by MSBuild's
// RoslynCodeTaskFactory as the inline task SelectiveLossLibTorchSharpFix that SelectiveLoss.targets runs after every
// build and publish (the ITask class at the bottom). The package carries it as buildTransitive/LibTorchSharpFix.cs,
// beside buildTransitive/SelectiveLoss.targets (see SelectiveLoss.csproj). It stays one file because the task factory
// compiles exactly one source file per task: a second <Code> element fails with MSB3757 ("Only one <Code> element can
// be specified", checked with SDK 10.0.401).
// Keep it to netstandard2.0 APIs and plain C#: the task factory compiles it against netstandard.
// What it writes, where and when, and how to turn it off: docs/debian12-loading.md.
//
// Why: libLibTorchSharp.so from TorchSharp 0.107.0 was linked with GCC 13 and declares that it needs the symbol
// version GLIBCXX_3.4.32 from libstdc++.so.6. Debian 12 (GCC 12) stops at GLIBCXX_3.4.30, so the dynamic loader refuses
// the library. The only symbol bound to that version is _ZSt21ios_base_library_initv, a marker that GCC 13's <iostream>
// emits and no relocation uses. Marking that one version requirement weak (VER_FLG_WEAK in its Vernaux entry) lets the
// loader accept the library; nothing else changes.
#nullable enable

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace SelectiveLoss.Native
{
    /// <summary>What <see cref="LibTorchSharpFix"/> found or did for one library file.</summary>
    internal enum LibTorchSharpFixOutcome
    {
        /// <summary>The host's libstdc++ defines every version the library needs: nothing to do.</summary>
        NotNeeded,

        /// <summary>Every missing version requirement is already weak: the file loads as it is.</summary>
        AlreadyPatched,

        /// <summary>The fix applies and has been (or, for an analysis, would be) made.</summary>
        Patched,

        /// <summary>The file needs something the fix cannot provide; it is left untouched.</summary>
        Refused,
    }

    /// <summary>The result of analysing or patching one libLibTorchSharp.so.</summary>
    internal sealed class LibTorchSharpFixResult
    {
        internal LibTorchSharpFixResult(string path, LibTorchSharpFixOutcome outcome, string message, IReadOnlyList<string> missingVersions)
        {
            Path = path;
            Outcome = outcome;
            Message = message;
            MissingVersions = missingVersions;
        }

        /// <summary>The library file.</summary>
        public string Path { get; }

        /// <summary>What was found or done.</summary>
        public LibTorchSharpFixOutcome Outcome { get; }

        /// <summary>A sentence for a build log or an exception message.</summary>
        public string Message { get; }

        /// <summary>The libstdc++ symbol versions the file needs that the host lacks.</summary>
        public IReadOnlyList<string> MissingVersions { get; }
    }

    /// <summary>One version requirement (Vernaux entry) of an ELF shared object, with the symbols bound to it.</summary>
    internal sealed class ElfVersionRequirement
    {
        internal ElfVersionRequirement(string file, string version, int index, ushort flags, long flagsOffset)
        {
            File = file;
            Version = version;
            Index = index;
            Flags = flags;
            FlagsOffset = flagsOffset;
        }

        /// <summary>The library that must provide the version (vn_file), e.g. libstdc++.so.6.</summary>
        public string File { get; }

        /// <summary>The version name, e.g. GLIBCXX_3.4.32.</summary>
        public string Version { get; }

        /// <summary>The version index that .gnu.version uses for it (vna_other).</summary>
        public int Index { get; }

        /// <summary>vna_flags; bit 0x2 is VER_FLG_WEAK.</summary>
        public ushort Flags { get; }

        /// <summary>Where vna_flags sits in the file.</summary>
        public long FlagsOffset { get; }

        /// <summary>Whether the requirement is weak, so a missing version does not stop the load.</summary>
        public bool IsWeak => (Flags & LibTorchSharpFix.VerFlagWeak) != 0;

        /// <summary>Dynamic symbols bound to this version.</summary>
        public List<string> Symbols { get; } = new List<string>();

        /// <summary>Symbols bound to this version that a dynamic relocation refers to.</summary>
        public List<string> RelocatedSymbols { get; } = new List<string>();
    }

    /// <summary>
    /// Reads the symbol-version tables of an ELF64 little-endian shared object and, where it is safe, marks
    /// libstdc++ version requirements that the host cannot satisfy as weak.
    /// </summary>
    internal static class LibTorchSharpFix
    {
        internal const ushort VerFlagWeak = 0x2;
        internal const string LibStdCxxSoname = "libstdc++.so.6";

        /// <summary>Symbols that a newer libstdc++ only emits as markers and nothing calls.</summary>
        internal static readonly string[] MarkerSymbols = { "_ZSt21ios_base_library_initv" };

        private const uint ShtRela = 4;
        private const uint ShtRel = 9;
        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;

        /// <summary>Finds the libstdc++.so.6 the dynamic loader would use, or null if none is found.</summary>
        public static string? FindHostLibStdCxx()
        {
            var dirs = new List<string>();
            string? ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ldPath))
            {
                dirs.AddRange(ldPath!.Split(':').Where(d => d.Length > 0));
            }

            string arch = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture ==
                System.Runtime.InteropServices.Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
            dirs.AddRange(new[]
            {
                "/lib/" + arch, "/usr/lib/" + arch, "/usr/local/lib", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
            });
            foreach (string dir in dirs)
            {
                string candidate = System.IO.Path.Combine(dir, LibStdCxxSoname);
                if (System.IO.File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }

        /// <summary>The symbol versions an ELF shared object defines (its .gnu.version_d names).</summary>
        public static HashSet<string> ReadDefinedVersions(string path)
        {
            byte[] elf = System.IO.File.ReadAllBytes(path);
            var result = new HashSet<string>(StringComparer.Ordinal);
            List<Section> sections = ReadSections(elf, path);
            foreach (Section section in sections.Where(s => s.Type == ShtGnuVerdef))
            {
                Section strtab = SectionAt(sections, path, section.Link);
                long entry = section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    uint aux = U32(elf, entry + 12);
                    uint next = U32(elf, entry + 16);
                    uint nameOffset = U32(elf, entry + aux);
                    result.Add(CString(elf, strtab.Offset + nameOffset));
                    if (next == 0)
                    {
                        break;
                    }

                    entry += next;
                }
            }

            return result;
        }

        /// <summary>Every version requirement of an ELF shared object, with the dynamic symbols bound to each.</summary>
        public static List<ElfVersionRequirement> ReadVersionRequirements(string path)
        {
            return ReadVersionRequirements(System.IO.File.ReadAllBytes(path), path);
        }

        /// <summary>Decides what the fix would do to <paramref name="libraryPath"/> on a host whose libstdc++ defines <paramref name="hostVersions"/>.</summary>
        public static LibTorchSharpFixResult Analyze(string libraryPath, ISet<string> hostVersions)
        {
            return Analyze(System.IO.File.ReadAllBytes(libraryPath), libraryPath, hostVersions, out _);
        }

        /// <summary>
        /// Applies the fix to <paramref name="libraryPath"/> in place, atomically (a patched copy beside it replaces it),
        /// when <see cref="Analyze(string, ISet{string})"/> says it applies. Idempotent.
        /// </summary>
        public static LibTorchSharpFixResult Patch(string libraryPath, ISet<string> hostVersions)
        {
            byte[] elf = System.IO.File.ReadAllBytes(libraryPath);
            LibTorchSharpFixResult result = Analyze(elf, libraryPath, hostVersions, out List<ElfVersionRequirement> toWeaken);
            if (result.Outcome != LibTorchSharpFixOutcome.Patched)
            {
                return result;
            }

            foreach (ElfVersionRequirement requirement in toWeaken)
            {
                ushort flags = (ushort)(requirement.Flags | VerFlagWeak);
                elf[requirement.FlagsOffset] = (byte)(flags & 0xff);
                elf[requirement.FlagsOffset + 1] = (byte)(flags >> 8);
            }

            string temp = libraryPath + ".selectiveloss-" + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                // Copy first so the file mode is kept, then overwrite the copy's bytes and rename it over the original:
                // a reader sees the old file or the new one, never half of each, and a hard link into the package
                // cache (if the build made one) keeps pointing at the untouched original.
                // The original's timestamp is kept so that MSBuild's incremental copy sees the file as up to date
                // and the next build finds it already patched instead of copying and patching it again.
                DateTime written = System.IO.File.GetLastWriteTimeUtc(libraryPath);
                System.IO.File.Copy(libraryPath, temp, overwrite: true);
                System.IO.File.WriteAllBytes(temp, elf);
                System.IO.File.SetLastWriteTimeUtc(temp, written);
                System.IO.File.Replace(temp, libraryPath, null);
            }
            finally
            {
                if (System.IO.File.Exists(temp))
                {
                    System.IO.File.Delete(temp);
                }
            }

            return result;
        }

        private static LibTorchSharpFixResult Analyze(byte[] elf, string path, ISet<string> hostVersions, out List<ElfVersionRequirement> toWeaken)
        {
            toWeaken = new List<ElfVersionRequirement>();
            List<ElfVersionRequirement> missing;
            try
            {
                missing = ReadVersionRequirements(elf, path)
                    .Where(r => r.File == LibStdCxxSoname && !hostVersions.Contains(r.Version))
                    .ToList();
            }
            catch (InvalidDataException e)
            {
                return new LibTorchSharpFixResult(path, LibTorchSharpFixOutcome.Refused, e.Message, Array.Empty<string>());
            }

            var missingNames = missing.Select(r => r.Version).ToList();
            if (missing.Count == 0)
            {
                return new LibTorchSharpFixResult(path, LibTorchSharpFixOutcome.NotNeeded,
                    "the host's libstdc++ provides every symbol version that " + System.IO.Path.GetFileName(path) + " needs", missingNames);
            }

            var problems = new List<string>();
            foreach (ElfVersionRequirement requirement in missing)
            {
                var real = requirement.Symbols.Where(s => Array.IndexOf(MarkerSymbols, s) < 0).ToList();
                if (real.Count > 0)
                {
                    problems.Add(requirement.Version + " is needed by " + string.Join(", ", real.Take(5)) +
                        (real.Count > 5 ? " and " + (real.Count - 5) + " more" : string.Empty));
                }

                if (requirement.RelocatedSymbols.Count > 0)
                {
                    problems.Add(requirement.Version + "'s " + string.Join(", ", requirement.RelocatedSymbols) + " is used by a relocation");
                }
            }

            if (problems.Count > 0)
            {
                return new LibTorchSharpFixResult(path, LibTorchSharpFixOutcome.Refused,
                    System.IO.Path.GetFileName(path) + " needs libstdc++ symbol versions this machine lacks (" +
                    string.Join(", ", missingNames) + ") for real code, not just the GCC 13 <iostream> marker: " +
                    string.Join("; ", problems) + ". The file was left untouched; install a libstdc++ from GCC 13 or newer.",
                    missingNames);
            }

            if (missing.All(r => r.IsWeak))
            {
                return new LibTorchSharpFixResult(path, LibTorchSharpFixOutcome.AlreadyPatched,
                    System.IO.Path.GetFileName(path) + "'s requirement of " + string.Join(", ", missingNames) + " is already weak",
                    missingNames);
            }

            toWeaken = missing.Where(r => !r.IsWeak).ToList();
            return new LibTorchSharpFixResult(path, LibTorchSharpFixOutcome.Patched,
                "marked " + string.Join(", ", toWeaken.Select(r => r.Version)) + " weak in " + path +
                " (only the GCC 13 <iostream> marker symbol is bound to it; this machine's libstdc++ lacks it)",
                missingNames);
        }

        private static List<ElfVersionRequirement> ReadVersionRequirements(byte[] elf, string path)
        {
            List<Section> sections = ReadSections(elf, path);
            var requirements = new List<ElfVersionRequirement>();
            foreach (Section section in sections.Where(s => s.Type == ShtGnuVerneed))
            {
                Section strtab = SectionAt(sections, path, section.Link);
                long need = section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    ushort count = U16(elf, need + 2);
                    string file = CString(elf, strtab.Offset + U32(elf, need + 4));
                    long aux = need + U32(elf, need + 8);
                    for (int j = 0; j < count; j++)
                    {
                        ushort flags = U16(elf, aux + 4);
                        ushort index = U16(elf, aux + 6);
                        string name = CString(elf, strtab.Offset + U32(elf, aux + 8));
                        requirements.Add(new ElfVersionRequirement(file, name, index & 0x7fff, flags, aux + 4));
                        uint nextAux = U32(elf, aux + 12);
                        if (nextAux == 0)
                        {
                            break;
                        }

                        aux += nextAux;
                    }

                    uint next = U32(elf, need + 12);
                    if (next == 0)
                    {
                        break;
                    }

                    need += next;
                }
            }

            Section? dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
            Section? versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            if (dynsym == null || versym == null || requirements.Count == 0)
            {
                return requirements;
            }

            Section dynstr = SectionAt(sections, path, dynsym.Link);
            long symbolCount = (long)(dynsym.Size / 24);
            var byIndex = requirements.GroupBy(r => r.Index).ToDictionary(g => g.Key, g => g.First());
            var symbolNames = new string[symbolCount];
            var symbolVersion = new ElfVersionRequirement?[symbolCount];
            for (long s = 0; s < symbolCount; s++)
            {
                int version = U16(elf, versym.Offset + (s * 2)) & 0x7fff;
                if (byIndex.TryGetValue(version, out ElfVersionRequirement? requirement))
                {
                    string name = CString(elf, dynstr.Offset + U32(elf, dynsym.Offset + (s * 24)));
                    symbolNames[s] = name;
                    symbolVersion[s] = requirement;
                    requirement.Symbols.Add(name);
                }
            }

            foreach (Section relocations in sections.Where(s => (s.Type == ShtRela || s.Type == ShtRel) && s.Link == dynsym.IndexInTable))
            {
                long entrySize = relocations.Type == ShtRela ? 24 : 16;
                for (long r = 0; r + entrySize <= (long)relocations.Size; r += entrySize)
                {
                    ulong info = U64(elf, relocations.Offset + r + 8);
                    long symbol = (long)(info >> 32);
                    ElfVersionRequirement? requirement = symbol < symbolCount ? symbolVersion[symbol] : null;
                    if (requirement != null && !requirement.RelocatedSymbols.Contains(symbolNames[symbol]))
                    {
                        requirement.RelocatedSymbols.Add(symbolNames[symbol]);
                    }
                }
            }

            return requirements;
        }

        private sealed class Section
        {
            public int IndexInTable;
            public uint Type;
            public long Offset;
            public ulong Size;
            public int Link;
            public uint Info;
        }

        private static List<Section> ReadSections(byte[] elf, string path)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            {
                throw new InvalidDataException(path + " is not an ELF file.");
            }

            if (elf[4] != 2 || elf[5] != 1)
            {
                throw new InvalidDataException(path + " is not a 64-bit little-endian ELF file; only those are handled.");
            }

            long sectionTable = (long)U64(elf, 0x28);
            ushort entrySize = U16(elf, 0x3A);
            ushort count = U16(elf, 0x3C);
            if (entrySize < 64 || sectionTable <= 0 || sectionTable + ((long)count * entrySize) > elf.Length)
            {
                throw new InvalidDataException(path + " has a damaged section header table.");
            }

            var sections = new List<Section>(count);
            for (int i = 0; i < count; i++)
            {
                long header = sectionTable + ((long)i * entrySize);
                var section = new Section
                {
                    IndexInTable = i,
                    Type = U32(elf, header + 4),
                    Offset = (long)U64(elf, header + 24),
                    Size = U64(elf, header + 32),
                    Link = (int)U32(elf, header + 40),
                    Info = U32(elf, header + 44),
                };
                if (section.Type != 8 /* SHT_NOBITS */ && section.Offset + (long)section.Size > elf.Length)
                {
                    throw new InvalidDataException(path + ": section " + i + " runs past the end of the file.");
                }

                sections.Add(section);
            }

            return sections;
        }

        private static Section SectionAt(List<Section> sections, string path, int index)
        {
            if (index <= 0 || index >= sections.Count)
            {
                throw new InvalidDataException(path + ": a section links to section " + index + ", which does not exist.");
            }

            return sections[index];
        }

        private static ushort U16(byte[] b, long at)
        {
            Check(b, at, 2);
            return (ushort)(b[at] | (b[at + 1] << 8));
        }

        private static uint U32(byte[] b, long at)
        {
            Check(b, at, 4);
            return (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));
        }

        private static ulong U64(byte[] b, long at)
        {
            return U32(b, at) | ((ulong)U32(b, at + 4) << 32);
        }

        private static string CString(byte[] b, long at)
        {
            Check(b, at, 1);
            long end = at;
            while (end < b.Length && b[end] != 0)
            {
                end++;
            }

            return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
        }

        private static void Check(byte[] b, long at, int size)
        {
            if (at < 0 || at + size > b.Length)
            {
                throw new InvalidDataException("a structure at offset " + at + " runs past the end of the file.");
            }
        }
    }
}

#if !SELECTIVELOSS_LIBRARY
namespace SelectiveLoss.Native
{
    using Microsoft.Build.Framework;

    /// <summary>
    /// The MSBuild task behind the SelectiveLoss buildTransitive targets: finds libLibTorchSharp.so in the given output
    /// folders and applies <see cref="LibTorchSharpFix"/> where the host needs it.
    /// </summary>
    public sealed class SelectiveLossLibTorchSharpFix : Microsoft.Build.Utilities.Task
    {
        /// <summary>Output folders to look in (the folder itself, runtimes/*/native, cpu/ and cuda/).</summary>
        [Required]
        public string[] Directories { get; set; } = Array.Empty<string>();

        /// <summary>Overrides the libstdc++.so.6 to compare against.</summary>
        public string LibStdCxxPath { get; set; } = string.Empty;

        /// <summary>Files that were patched.</summary>
        [Output]
        public string[] PatchedFiles { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            var files = new List<string>();
            foreach (string dir in Directories.Where(System.IO.Directory.Exists).Distinct())
            {
                var candidates = new List<string> { dir, System.IO.Path.Combine(dir, "cpu"), System.IO.Path.Combine(dir, "cuda") };
                string runtimes = System.IO.Path.Combine(dir, "runtimes");
                if (System.IO.Directory.Exists(runtimes))
                {
                    candidates.AddRange(System.IO.Directory.GetDirectories(runtimes, "linux-*").Select(r => System.IO.Path.Combine(r, "native")));
                }

                files.AddRange(candidates
                    .Select(c => System.IO.Path.Combine(c, "libLibTorchSharp.so"))
                    .Where(System.IO.File.Exists)
                    .Select(System.IO.Path.GetFullPath));
            }

            files = files.Distinct().ToList();
            if (files.Count == 0)
            {
                Log.LogMessage(MessageImportance.Low, "SelectiveLoss: no libLibTorchSharp.so in the output; nothing to fix.");
                return true;
            }

            string? host = string.IsNullOrEmpty(LibStdCxxPath) ? LibTorchSharpFix.FindHostLibStdCxx() : LibStdCxxPath;
            if (host == null || !System.IO.File.Exists(host))
            {
                Log.LogWarning(null, "SL0002", null, null, 0, 0, 0, 0,
                    "SelectiveLoss: could not find this machine's libstdc++.so.6, so TorchSharp's native library was not checked. " +
                    "Set SelectiveLossLibStdCxxPath to its path, or SelectiveLossPatchLibTorchSharp=false to silence this.");
                return true;
            }

            HashSet<string> versions;
            try
            {
                versions = LibTorchSharpFix.ReadDefinedVersions(host);
            }
            catch (Exception e) when (e is System.IO.InvalidDataException || e is System.IO.IOException)
            {
                Log.LogWarning(null, "SL0002", null, null, 0, 0, 0, 0,
                    "SelectiveLoss: could not read the symbol versions of " + host + ": " + e.Message);
                return true;
            }

            var patched = new List<string>();
            foreach (string file in files)
            {
                LibTorchSharpFixResult result;
                try
                {
                    result = LibTorchSharpFix.Patch(file, versions);
                }
                catch (Exception e) when (e is System.IO.IOException || e is UnauthorizedAccessException)
                {
                    Log.LogWarning(null, "SL0001", null, file, 0, 0, 0, 0,
                        "SelectiveLoss: could not patch " + file + ": " + e.Message + ". TorchSharp may fail to load on this machine.");
                    continue;
                }

                switch (result.Outcome)
                {
                    case LibTorchSharpFixOutcome.Patched:
                        patched.Add(file);
                        Log.LogMessage(MessageImportance.High,
                            "SelectiveLoss: " + result.Message + ". Set SelectiveLossPatchLibTorchSharp=false to turn this off.");
                        break;
                    case LibTorchSharpFixOutcome.Refused:
                        Log.LogWarning(null, "SL0001", null, file, 0, 0, 0, 0,
                            "SelectiveLoss: refused to patch TorchSharp's native library: " + result.Message);
                        break;
                    default:
                        Log.LogMessage(MessageImportance.Low, "SelectiveLoss: " + result.Message + ".");
                        break;
                }
            }

            PatchedFiles = patched.ToArray();
            return !Log.HasLoggedErrors;
        }
    }
}
#endif
