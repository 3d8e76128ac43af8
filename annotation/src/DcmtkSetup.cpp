#include "DcmtkSetup.h"

#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/oflog/oflog.h>

#include <cstdlib>
#include <mutex>

namespace engram::detail {

void ensureDcmtkInitialised() {
    static std::once_flag once;
    std::call_once(once, [] {
        // DCMTK logs every non-DICOM file it is asked to parse; Engram reports problems itself.
        // ENGRAM_DCMTK_LOG=1 restores DCMTK's own warnings for debugging.
        const char* verbose = std::getenv("ENGRAM_DCMTK_LOG");
        OFLog::configure(verbose && *verbose == '1' ? OFLogger::WARN_LOG_LEVEL : OFLogger::FATAL_LOG_LEVEL);
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

}  // namespace engram::detail
