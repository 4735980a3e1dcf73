namespace SelectiveLoss.Numerics;

/// <summary>What <see cref="NumericsCheck.SwitchVariable"/> asks for: check and mitigate (unset, <c>on</c>), check and
/// refuse to train on a fault (<c>check</c>), or no check (<c>off</c>).</summary>
internal enum NumericsSwitch
{
    On,
    CheckOnly,
    Off,
}
