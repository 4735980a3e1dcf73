namespace SelectiveLoss.Selection;

/// <summary>
/// Marks the library's own rules, whose output is proven by tests, so the step does not pay for checking it on every
/// step (a custom rule's output is checked before any parameter changes).
/// </summary>
internal interface IBuiltInRule
{
    /// <summary>Gets a value indicating whether the rule's output can be trusted unchecked.</summary>
    bool Trusted => true;
}
