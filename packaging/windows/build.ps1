<#
.SYNOPSIS
  Build MaxUpload for Windows: the one-folder bundle (dist\MaxUpload\) and the Inno Setup
  installer (dist\MaxUpload-<version>-setup.exe), self-test the bundle, print the sizes.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 -SkipInstaller

.NOTES
  Needs Python 3.11+ (py launcher or $env:PYTHON) and Inno Setup 6 (installed with Chocolatey
  when ISCC.exe is not found and choco is available). Same spec and checks as the Linux build.
#>
param(
  [switch]$SkipInstaller,
  [switch]$SkipSelfTest
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = Resolve-Path (Join-Path $PSScriptRoot '..\..')
Set-Location $Root

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
  & $Exe @Arguments
  if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# --- Python environment ------------------------------------------------------------------------
$Py = Join-Path $Root '.venv\Scripts\python.exe'
if (-not (Test-Path $Py)) {
  if ($env:PYTHON) { Invoke-Checked $env:PYTHON @('-m', 'venv', '.venv') }
  else { Invoke-Checked 'py' @('-3.11', '-m', 'venv', '.venv') }
}
Invoke-Checked $Py @('-m', 'pip', 'install', '-q', '--upgrade', 'pip')
Invoke-Checked $Py @('-m', 'pip', 'install', '-q', '-e', '.[package]')

$Version = (& $Py -c 'import maxupload; print(maxupload.__version__)').Trim()
# Windows version resources want four numbers: 1.2.3rc1 -> 1.2.3.0
$Numbers = @([regex]::Matches(($Version -split '[^0-9.]')[0], '\d+') | ForEach-Object { $_.Value })
while ($Numbers.Count -lt 4) { $Numbers += '0' }
$NumericVersion = ($Numbers[0..3] -join '.')

# --- the one-folder bundle ---------------------------------------------------------------------
Write-Host "Building the MaxUpload $Version bundle (PyInstaller, takes a few minutes)..."
if (Test-Path 'dist\MaxUpload') { Remove-Item -Recurse -Force 'dist\MaxUpload' }
Invoke-Checked $Py @('-m', 'PyInstaller', '--noconfirm', '--clean', '--log-level', 'WARN',
  '--distpath', 'dist', '--workpath', 'build\pyinstaller', 'packaging\maxupload.spec')
$Bundle = Join-Path $Root 'dist\MaxUpload'
foreach ($exe in @('MaxUpload.exe', 'maxupload-cli.exe')) {
  if (-not (Test-Path (Join-Path $Bundle $exe))) { throw "$exe was not built" }
}

if (-not $SkipSelfTest) {
  # The console executable, so the report reaches this window (MaxUpload.exe has no console).
  $env:QT_QPA_PLATFORM = 'offscreen'
  Invoke-Checked (Join-Path $Bundle 'maxupload-cli.exe') @('--self-test')
  Remove-Item Env:\QT_QPA_PLATFORM
}

# --- the installer -----------------------------------------------------------------------------
$Setup = $null
if (-not $SkipInstaller) {
  $Iscc = @(
    (Get-Command 'ISCC.exe' -ErrorAction SilentlyContinue | Select-Object -ExpandProperty Source),
    "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe",
    "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
    "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe"
  ) | Where-Object { $_ -and (Test-Path $_) } | Select-Object -First 1
  if (-not $Iscc -and (Get-Command 'choco' -ErrorAction SilentlyContinue)) {
    Invoke-Checked 'choco' @('install', 'innosetup', '-y', '--no-progress')
    $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
  }
  if (-not $Iscc -or -not (Test-Path $Iscc)) { throw 'Inno Setup 6 (ISCC.exe) not found; install it from jrsoftware.org' }
  Invoke-Checked $Iscc @('/Q', "/DAppVersion=$Version", "/DAppNumericVersion=$NumericVersion",
    'packaging\windows\maxupload.iss')
  $Setup = Join-Path $Root "dist\MaxUpload-$Version-setup.exe"
  if (-not (Test-Path $Setup)) { throw "installer $Setup was not built" }
}

# --- sizes -------------------------------------------------------------------------------------
function Format-Size([long]$Bytes) { '{0:N1} MiB' -f ($Bytes / 1MB) }
$Files = Get-ChildItem -Recurse -File $Bundle
$BundleBytes = ($Files | Measure-Object -Property Length -Sum).Sum
Write-Host ''
Write-Host "MaxUpload $Version built:"
Write-Host ("  bundle     dist\MaxUpload\   {0} ({1} files)" -f (Format-Size $BundleBytes), $Files.Count)
if ($Setup) { Write-Host ("  installer  {0}   {1}" -f (Split-Path $Setup -Leaf), (Format-Size (Get-Item $Setup).Length)) }
