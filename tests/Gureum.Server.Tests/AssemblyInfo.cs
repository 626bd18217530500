// Gureum runs on Linux (Debian/Ubuntu); tests check Unix file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
