; Inno Setup script for Gemma Desk (Windows x64): Start-menu entry, optional desktop icon, "Open with Gemma Desk"
; for the files it takes, uninstaller.
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
ChangesAssociations=yes

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

[Registry]
; "Open with Gemma Desk" (Explorer's "Open with" list) for every kind of file the app takes, without becoming any
; type's default app (a .gguf model, which nothing else claims, is offered to load). "%1" reaches gemma-desk.exe as
; a file argument; a window already open takes the file (single instance). Everything here goes on uninstall:
; our own keys whole, and only our value under each extension.
Root: HKA; Subkey: "Software\Classes\GemmaDesk.File"; ValueType: string; ValueName: ""; ValueData: "File for Gemma Desk"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\GemmaDesk.File\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\gemma-desk.exe,0"
Root: HKA; Subkey: "Software\Classes\GemmaDesk.File\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with Gemma Desk"
Root: HKA; Subkey: "Software\Classes\GemmaDesk.File\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\gemma-desk.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\GemmaDesk.Model"; ValueType: string; ValueName: ""; ValueData: "Gemma model (GGUF)"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\GemmaDesk.Model\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\gemma-desk.exe,0"
Root: HKA; Subkey: "Software\Classes\GemmaDesk.Model\shell\open"; ValueType: string; ValueName: ""; ValueData: "Load in Gemma Desk"
Root: HKA; Subkey: "Software\Classes\GemmaDesk.Model\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\gemma-desk.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\gemma-desk.exe"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "Gemma Desk"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\gemma-desk.exe\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\gemma-desk.exe"" ""%1"""
; Models
Root: HKA; Subkey: "Software\Classes\.gguf\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.Model"; ValueData: ""; Flags: uninsdeletevalue
; Pictures
Root: HKA; Subkey: "Software\Classes\.bmp\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.gif\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jpeg\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jpg\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.png\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.webp\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
; Recordings
Root: HKA; Subkey: "Software\Classes\.flac\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mp3\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.oga\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ogg\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.wav\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
; Videos
Root: HKA; Subkey: "Software\Classes\.avi\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mkv\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mov\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mp4\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.webm\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
; PDF and Office documents
Root: HKA; Subkey: "Software\Classes\.docx\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.pdf\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.pptx\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.xlsx\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
; Text, data and source code
Root: HKA; Subkey: "Software\Classes\.adoc\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.bash\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.bat\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.c\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cc\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cfg\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cjs\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.clj\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cmake\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cmd\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.conf\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cpp\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cs\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.css\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.csv\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.cxx\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.dart\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.diff\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.dockerfile\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.env\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.erl\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ex\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.exs\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.fish\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.go\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.gradle\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.graphql\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.h\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.hh\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.hpp\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.hs\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.htm\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.html\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ini\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ipynb\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.java\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jl\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.js\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.json\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jsonl\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jsx\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.kt\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.kts\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.less\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.log\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.lua\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.m\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.markdown\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.md\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mjs\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mk\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ml\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mm\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ndjson\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.nim\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.org\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.patch\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.php\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.pl\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.pm\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.properties\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.proto\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ps1\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.py\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.pyi\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.r\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.rb\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.rs\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.rst\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.sass\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.scala\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.scss\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.sh\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.sql\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.srt\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.sv\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.svelte\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.svg\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.swift\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.tex\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.text\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.toml\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ts\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.tsv\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.tsx\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.txt\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.v\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.vhd\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.vtt\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.vue\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.xhtml\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.xml\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.yaml\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.yml\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.zig\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.zsh\OpenWithProgids"; ValueType: string; ValueName: "GemmaDesk.File"; ValueData: ""; Flags: uninsdeletevalue
