# Build the Windows installer: freeze with PyInstaller, check the frozen app, pack it with Inno Setup.
#
#   powershell -File packaging\windows\build-windows.ps1                 # CPU build
#   powershell -File packaging\windows\build-windows.ps1 -Variant cuda   # CUDA (needs the CUDA toolkit, nvcc)
#
# Needs: uv, Visual Studio Build Tools (C++), CMake, Inno Setup 6 (iscc on the PATH).
param([ValidateSet("cpu", "cuda", "vulkan")] [string] $Variant = "cpu")
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

$cmake = @{ cpu = ""; cuda = "-DGGML_CUDA=on"; vulkan = "-DGGML_VULKAN=on" }[$Variant]
if ($cmake) {
    $env:CMAKE_ARGS = $cmake
    uv sync --reinstall-package llama-cpp-python
} else {
    uv sync
}
$version = uv run python -c "import app; print(app.__version__)"
uv run pyinstaller --noconfirm --clean --distpath build\dist --workpath build\work packaging\gemma-desk.spec

if ($Variant -eq "cuda") {
    # The CUDA runtime the build linked against travels with the app (users need only the NVIDIA driver).
    $cudaBin = Join-Path $env:CUDA_PATH "bin"
    Get-ChildItem $cudaBin -Include "cudart64_*.dll", "cublas64_*.dll", "cublasLt64_*.dll" -Recurse |
        Copy-Item -Destination build\dist\gemma-desk\_internal\llama_cpp\lib
}

# The frozen app must check itself before it ships.
$model = uv run python -c "from tests.conftest import build_tiny_model; print(build_tiny_model())"
$env:QT_QPA_PLATFORM = "offscreen"
& build\dist\gemma-desk\gemma-desk.exe --self-check --check-model $model
if ($LASTEXITCODE -ne 0) { throw "the frozen app failed its self-check" }
Remove-Item Env:QT_QPA_PLATFORM

iscc /DAppVersion=$version /DVariant=$Variant packaging\windows\gemma-desk.iss
