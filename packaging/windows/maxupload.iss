; Inno Setup 6 script for MaxUpload on Windows (x64).
;
; Built by packaging\windows\build.ps1, which passes the version read from the package:
;   ISCC.exe /DAppVersion=0.1.0 /DAppNumericVersion=0.1.0.0 packaging\windows\maxupload.iss
; Input:  dist\MaxUpload\ (the PyInstaller one-folder bundle, MaxUpload.exe + maxupload-cli.exe)
; Output: dist\MaxUpload-<version>-setup.exe
;
; Installs per user by default (no administrator needed, into %LOCALAPPDATA%\Programs);
; an administrator may choose "for all users" (Program Files) in the first page, or pass
; /ALLUSERS on the command line. Silent install: /VERYSILENT /SUPPRESSMSGBOXES /CURRENTUSER.
;
; Managed settings for a clinic rollout (an all-users install writes them to
; %ProgramData%\MaxUpload\config.toml, read by every user before their own settings):
;   MaxUpload-<version>-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /ALLUSERS /ORG=org_123
;     /ENV=production /PRESET=standard /IDLEMINUTES=5 /RETENTIONDAYS=365 /LOCK=org_id,base_url
; /ENV takes production, staging or an https URL. Without any of these the file is left as it is.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef AppNumericVersion
  #define AppNumericVersion "0.0.0.0"
#endif
#define AppName "MaxUpload"
#define AppPublisher "Max AI"
#define AppURL "https://docs.maxcare.ai"
#define AppExe "MaxUpload.exe"
#define RepoRoot AddBackslash(SourcePath) + "..\.."
#ifndef BundleDir
  #define BundleDir RepoRoot + "\dist\MaxUpload"
#endif

[Setup]
; AppId identifies MaxUpload across versions (upgrades replace it in place): never change it.
AppId={{6F4C2B1E-8A3D-4C57-9E21-5B7D0A9C3F18}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppPublisherURL={#AppURL}
AppSupportURL={#AppURL}
VersionInfoVersion={#AppNumericVersion}
VersionInfoProductVersion={#AppNumericVersion}
VersionInfoDescription={#AppName} installer
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#RepoRoot}\dist
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile={#RepoRoot}\resources\icons\maxupload.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
Compression=lzma2/ultra64
SolidCompression=yes
WizardStyle=modern
; Close a running MaxUpload before files are replaced; it recovers its queue on the next start.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; A new version's bundle replaces the old one completely (no stale libraries left behind).
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Attach clinical photos to a patient's visit note"
Name: "{autoprograms}\{#AppName} (demo mode)"; Filename: "{app}\{#AppExe}"; Parameters: "--sandbox"; Comment: "Try MaxUpload with a local sandbox and made-up patients"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The upload queue, settings and logs live in the user's profile and the API key in Windows
; Credential Manager; uninstalling leaves them, so reinstalling loses no queued photo.

[Code]
{ Managed settings from the command line: /ENV= /ORG= /PRESET= /IDLEMINUTES= /RETENTIONDAYS=
  /LOCK=name,name. MaxUpload checks every value when it starts and names this file if one is
  wrong, so a typo stops the app on the first start instead of being silently ignored. }

function TomlString(const Value: String): String;
begin
  Result := Value;
  StringChangeEx(Result, '\', '\\', True);
  StringChangeEx(Result, '"', '\"', True);
  Result := '"' + Result + '"';
end;

function ManagedLine(const Name, Param: String; Quoted: Boolean): String;
var
  Value: String;
begin
  Result := '';
  Value := Trim(ExpandConstant('{param:' + Param + '|}'));
  if Value = '' then
    Exit;
  if Quoted then
    Value := TomlString(Value);
  Result := Name + ' = ' + Value + #13#10;
end;

function LockedList(const Value: String): String;
var
  Rest, Item: String;
  P: Integer;
begin
  Result := '';
  Rest := Value;
  while Rest <> '' do
  begin
    P := Pos(',', Rest);
    if P = 0 then
    begin
      Item := Trim(Rest);
      Rest := '';
    end
    else
    begin
      Item := Trim(Copy(Rest, 1, P - 1));
      Rest := Copy(Rest, P + 1, Length(Rest));
    end;
    if Item <> '' then
    begin
      if Result <> '' then
        Result := Result + ', ';
      Result := Result + TomlString(Item);
    end;
  end;
  Result := '[' + Result + ']';
end;

procedure WriteManagedSettings;
var
  Text, Locked, Folder: String;
begin
  Text := ManagedLine('base_url', 'ENV', True) + ManagedLine('org_id', 'ORG', True)
    + ManagedLine('preset', 'PRESET', True)
    + ManagedLine('confirm_idle_minutes', 'IDLEMINUTES', False)
    + ManagedLine('history_retention_days', 'RETENTIONDAYS', False);
  Locked := Trim(ExpandConstant('{param:LOCK|}'));
  if Locked <> '' then
    Text := Text + 'locked = ' + LockedList(Locked) + #13#10;
  if Text = '' then
    Exit;
  if not IsAdminInstallMode then
  begin
    SuppressibleMsgBox('Managed settings need an installation for all users (/ALLUSERS); '
      + 'they were not written.', mbError, MB_OK, IDOK);
    Exit;
  end;
  Folder := ExpandConstant('{commonappdata}\MaxUpload');
  ForceDirectories(Folder);
  if not SaveStringToFile(Folder + '\config.toml',
    '# MaxUpload managed settings, written by the installer.' + #13#10 + Text, False) then
    RaiseException('Could not write ' + Folder + '\config.toml');
  Log('Managed settings written to ' + Folder + '\config.toml');
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
    WriteManagedSettings;
end;
