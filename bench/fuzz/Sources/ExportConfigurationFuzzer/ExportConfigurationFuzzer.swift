import ExporterCore
import FuzzDriver

/// libFuzzer's entry: the input is an export configuration file (YAML), parsed
/// and validated as `pipetrace export --config` does. Anything wrong is an
/// `Invalid` naming the key; any crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func exportConfigurationFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let configuration = try? ExportConfiguration.parse(yaml: text, source: "fuzz") else { return 0 }
    _ = try? configuration.validate(source: "fuzz")
    return 0
}

@_cdecl("ExportConfigurationFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, exportConfigurationFuzzer)
}
