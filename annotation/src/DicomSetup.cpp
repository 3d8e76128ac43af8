#include "DicomSetup.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <dcmtk/oflog/oflog.h>
#include <gdcmTrace.h>

#include <cstdlib>
#include <mutex>

namespace engram::detail {

void ensureDicomLibrariesInitialised() {
    static std::once_flag once;
    std::call_once(once, [] {
        // DCMTK logs every non-DICOM file it is asked to parse; Engram reports problems itself.
        // ENGRAM_DICOM_LOG=1 restores DCMTK's and GDCM's own warnings for debugging; by default they are
        // silent, since Engram checks what matters itself and reports it in plain words.
        const char* env = std::getenv("ENGRAM_DICOM_LOG");
        const bool verbose = env && *env == '1';
        OFLog::configure(verbose ? OFLogger::WARN_LOG_LEVEL : OFLogger::FATAL_LOG_LEVEL);
        gdcm::Trace::SetWarning(verbose);
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

std::string dicomString(DcmItem& item, const DcmTagKey& tag) {
    OFString v;
    if (item.findAndGetOFStringArray(tag, v).bad()) return {};
    std::string s = v.c_str();
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    return s;
}

std::string elementLongerThanFile(DcmItem& ds, std::uintmax_t fileBytes) {
    for (unsigned long i = 0; i < ds.card(); ++i) {
        DcmElement* e = ds.getElement(i);
        // The length field as declared: getLength() would load (and allocate) a string value to measure it.
        if (e && e->getLengthField() != DCM_UndefinedLength && e->getLengthField() > fileBytes)
            return e->getTag().toString().c_str();
    }
    return {};
}

std::string oddStructureLength(DcmItem& ds) {
    DcmStack stack;
    while (ds.nextObject(stack, true).good()) {
        DcmObject* o = stack.top();
        const bool sequence = o->ident() == EVR_SQ, item = o->ident() == EVR_item;
        const Uint32 length = o->getLengthField();
        if ((sequence || item) && length != DCM_UndefinedLength && length % 2 != 0)
            return std::string(o->getTag().toString().c_str()) + (sequence ? " (a sequence)" : " (an item)") +
                   " has the odd length " + std::to_string(length);
    }
    return {};
}

std::optional<MetaHeader> readMetaHeader(const std::filesystem::path& path) {
    ensureDicomLibrariesInitialised();
    DcmFileFormat ff;
    if (ff.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_metaOnly).bad())
        return std::nullopt;
    MetaHeader h{dicomString(*ff.getMetaInfo(), DCM_MediaStorageSOPClassUID),
                 dicomString(*ff.getMetaInfo(), DCM_TransferSyntaxUID)};
    if (h.sopClass.empty()) return std::nullopt;
    return h;
}

}  // namespace engram::detail
