#include "DcmtkSetup.h"

#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/oflog/oflog.h>

#include <mutex>

namespace engram::detail {

void ensureDcmtkInitialised() {
    static std::once_flag once;
    std::call_once(once, [] {
        // DCMTK logs every non-DICOM file it is asked to parse; Engram reports problems itself.
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

}  // namespace engram::detail
