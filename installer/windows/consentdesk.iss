; Inno Setup 6 script for ConsentDesk on Windows (x64).
;
; Build the bundle first (`make package`, or `python installer\build.py`, which also runs this
; script when iscc.exe is on PATH), then:
;
;     iscc /DMyAppVersion=0.1.0 installer\windows\consentdesk.iss
;
; Output: dist\ConsentDesk-<version>-windows-x64-setup.exe
;
; Signing: define SignToolName to a sign tool configured in Inno Setup (Tools > Configure Sign
; Tools, or iscc's /S option), e.g.
;     iscc /DMyAppVersion=0.1.0 /DSignToolName=consentdesk ^
;          "/Sconsentdesk=signtool sign /fd sha256 /tr http://timestamp.example /td sha256 /a $f" ^
;          installer\windows\consentdesk.iss
; Inno then signs the installer and the uninstaller; sign the executables in dist\ConsentDesk
; with signtool before running iscc (installer\README.md).
;
; Data: the vault lives in %LOCALAPPDATA%\ConsentDesk (platformdirs), never under {app}. The
; installer never touches it, and neither does the uninstaller: erasing consent records is a
; decision for an administrator (consentdesk erase / deleting the folder by hand), not a side
; effect of removing the program.

#ifndef MyAppVersion
  #define MyAppVersion "0.1.0"
#endif
#define MyAppName "ConsentDesk"
#define MyAppExe "ConsentDesk.exe"
#define MyCliExe "consentdesk-cli.exe"
#define Root "..\.."

[Setup]
; Keep this AppId for ever: it is how an upgrade finds the installed version.
AppId={{5B0F5C8E-3C1D-4B7A-9E62-2F4C0D6A9B11}
AppName={#MyAppName}
AppVersion={#MyAppVersion}
AppVerName={#MyAppName} {#MyAppVersion}
AppPublisher=ConsentDesk
DefaultDirName={autopf}\{#MyAppName}
DefaultGroupName={#MyAppName}
DisableProgramGroupPage=yes
; Per-machine by default (front-desk PCs have several staff accounts); the dialog lets an
; administrator-less user install for themselves.
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename={#MyAppName}-{#MyAppVersion}-windows-x64-setup
SetupIconFile={#Root}\build\icon\consentdesk.ico
UninstallDisplayIcon={app}\{#MyAppExe}
UninstallDisplayName={#MyAppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; An upgrade closes a running ConsentDesk first, so no file is in use.
CloseApplications=yes
RestartApplications=no
#ifdef SignToolName
SignTool={#SignToolName}
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the bundle's libraries wholesale: files an older version shipped and the
; new one does not must not linger and be loaded. User data is elsewhere and stays.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Root}\dist\ConsentDesk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#Root}\build\icon\consentdesk.ico"; DestDir: "{app}"; Flags: ignoreversion

[Icons]
Name: "{group}\{#MyAppName}"; Filename: "{app}\{#MyAppExe}"; IconFilename: "{app}\consentdesk.ico"; Comment: "Consent-first face enrollment"
Name: "{group}\{#MyAppName} self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#MyCliExe}"" --self-test"; WorkingDir: "{app}"; IconFilename: "{app}\consentdesk.ico"; Comment: "Check that this installation works"
Name: "{group}\{#MyAppName} admin console"; Filename: "{cmd}"; Parameters: "/k cd /d ""{app}"" && ""{#MyCliExe}"" --help"; WorkingDir: "{app}"; Comment: "Command line for administrators (consentdesk-cli.exe)"
Name: "{group}\{cm:UninstallProgram,{#MyAppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#MyAppName}"; Filename: "{app}\{#MyAppExe}"; IconFilename: "{app}\consentdesk.ico"; Tasks: desktopicon

[Run]
; Prove the installation before anyone relies on it; a failure is shown, not hidden.
Filename: "{cmd}"; Parameters: "/k ""{app}\{#MyCliExe}"" --self-test"; Description: "Run the self-test now"; Flags: postinstall skipifsilent unchecked
Filename: "{app}\{#MyAppExe}"; Description: "{cm:LaunchProgram,{#MyAppName}}"; Flags: nowait postinstall skipifsilent
