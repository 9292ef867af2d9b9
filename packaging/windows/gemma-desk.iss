; Inno Setup script for Gemma Desk (Windows x64): Start-menu entry, optional desktop icon, uninstaller.
;
;   iscc /DAppVersion=0.1.0 /DVariant=cpu packaging\windows\gemma-desk.iss
;
; Packs build\dist\gemma-desk\ (made by packaging\build-windows.ps1) into
; build\GemmaDesk-<version>-windows-x64-<variant>-setup.exe. Installs per user by default (no admin rights
; needed); the user's chats and models (in %LOCALAPPDATA%\Gemma Desk) are kept on uninstall.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef Variant
  #define Variant "cpu"
#endif

[Setup]
AppId={{6F2C4B8E-3D1A-4E57-9B6C-0A7E5D2F8C41}
AppName=Gemma Desk
AppVersion={#AppVersion}
AppVerName=Gemma Desk {#AppVersion}
AppPublisher=Gemma Desk
AppPublisherURL=https://gemmadesk.io
DefaultDirName={autopf}\Gemma Desk
DefaultGroupName=Gemma Desk
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\build
OutputBaseFilename=GemmaDesk-{#AppVersion}-windows-x64-{#Variant}-setup
SetupIconFile=..\..\resources\icons\gemma-desk.ico
UninstallDisplayIcon={app}\gemma-desk.exe
Compression=lzma2/ultra64
SolidCompression=yes
WizardStyle=modern
LicenseFile=..\LICENSE.txt

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\build\dist\gemma-desk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Gemma Desk"; Filename: "{app}\gemma-desk.exe"; Comment: "Chat with Gemma 4 on this computer"
Name: "{group}\Uninstall Gemma Desk"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Gemma Desk"; Filename: "{app}\gemma-desk.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\gemma-desk.exe"; Description: "{cm:LaunchProgram,Gemma Desk}"; Flags: nowait postinstall skipifsilent
