#include <engram/annotation/Errors.h>
#include <engram/annotation/Pacs.h>

#include "DicomSetup.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scu.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <set>

namespace engram {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFind = UID_FINDStudyRootQueryRetrieveInformationModel;
constexpr const char* kGet = UID_GETStudyRootQueryRetrieveInformationModel;

// Transfer syntaxes Engram takes objects in: uncompressed first, then the compressed ones its reader decodes,
// so that a server need not transcode what it stores compressed.
OFList<OFString> receivedSyntaxes() {
    OFList<OFString> ts;
    for (const char* uid : {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
                            UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEGProcess14SV1TransferSyntax,
                            UID_JPEGLSLosslessTransferSyntax, UID_RLELosslessTransferSyntax})
        ts.push_back(uid);
    return ts;
}

OFList<OFString> uncompressed() {
    OFList<OFString> ts;
    ts.push_back(UID_LittleEndianExplicitTransferSyntax);
    ts.push_back(UID_LittleEndianImplicitTransferSyntax);
    return ts;
}

std::string statusText(Uint16 status) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%04X", status);
    return hex;
}

// One association with the node; the destructor releases (or aborts) it.
class Association : public DcmSCU {
  public:
    Association(const DicomNode& node, const PacsOptions& options) : node_(node) {
        checkNode(node);
        detail::ensureDicomLibrariesInitialised();
        setAETitle(options.callingAeTitle.c_str());
        setPeerHostName(node.host.c_str());
        setPeerPort(static_cast<Uint16>(node.port));
        setPeerAETitle(node.aeTitle.c_str());
        setConnectionTimeout(options.timeoutSeconds);
        setACSETimeout(static_cast<Uint32>(options.timeoutSeconds));
        setDIMSETimeout(static_cast<Uint32>(options.timeoutSeconds));
        transferTimeout_ = static_cast<Uint32>(options.transferTimeoutSeconds);
        setDIMSEBlockingMode(DIMSE_NONBLOCKING);
        callingAe_ = options.callingAeTitle;
    }
    ~Association() override {
        if (!isConnected()) return;
        if (std::uncaught_exceptions() > 0)
            abortAssociation();  // the link may be broken: do not wait for a release answer
        else
            releaseAssociation();
    }
    Association(const Association&) = delete;
    Association& operator=(const Association&) = delete;

    void connect() {
        if (const OFCondition c = initNetwork(); c.bad())
            throw PacsError("Cannot start DICOM networking: " + std::string(c.text()));
        const OFCondition c = negotiateAssociation();
        if (c == NET_EC_NoAcceptablePresentationContexts)
            throw PacsError(node_.describe() +
                            " accepted the connection but none of the services Engram asked "
                            "for (query, retrieve or store of these objects).");
        if (c == DUL_ASSOCIATIONREJECTED)
            throw PacsError(node_.describe() + " refused the connection: check that its AE title is " +
                            node_.aeTitle + " and that it knows Engram's AE title " + callingAe_ + ".");
        if (c.bad())
            throw PacsError(node_.describe() + " does not answer (" + std::string(c.text()) +
                            "): check the host, the port and that the DICOM server is running.");
        spdlog::info("DICOM association with {} as {}", node_.describe(), callingAe_);
    }

    // The accepted context for `abstractSyntax`; PacsError when the node accepted none.
    T_ASC_PresentationContextID context(const char* abstractSyntax, const std::string& service) {
        const T_ASC_PresentationContextID id = findAnyPresentationContextID(abstractSyntax, "");
        if (id == 0) throw PacsError(node_.describe() + " does not offer " + service + ".");
        return id;
    }

    [[noreturn]] void fail(const std::string& what, const OFCondition& c) const {
        throw PacsError(what + " with " + node_.describe() + " failed: " + std::string(c.text()) + ".");
    }

    const DicomNode& node() const { return node_; }
    // For the messages of a retrieval or send, which an archive may be slow to answer.
    void useTransferTimeout() { setDIMSETimeout(transferTimeout_); }

  private:
    DicomNode node_;
    Uint32 transferTimeout_ = 120;
    std::string callingAe_;
};

// C-FIND at `level`: the datasets of every match.
std::vector<std::unique_ptr<DcmDataset>> find(Association& a, DcmDataset& keys, const std::string& what) {
    OFList<QRResponse*> responses;
    const OFCondition c = a.sendFINDRequest(a.context(kFind, "study queries (C-FIND)"), &keys, &responses);
    std::vector<std::unique_ptr<DcmDataset>> matches;
    Uint16 final = 0;
    for (QRResponse* r : responses) {
        if (r->m_dataset && (r->m_status == STATUS_Pending ||
                             r->m_status == STATUS_FIND_Pending_WarningUnsupportedOptionalKeys)) {
            matches.emplace_back(r->m_dataset);
            r->m_dataset = nullptr;
        } else {
            final = r->m_status;
        }
        delete r;
    }
    if (c.bad()) a.fail(what, c);
    if (final != STATUS_Success)
        throw PacsError(a.node().describe() + " answered the " + what + " with status " + statusText(final) +
                        ".");
    return matches;
}

std::string get(DcmDataset& d, const DcmTagKey& tag) { return detail::dicomString(d, tag); }
int getInt(DcmDataset& d, const DcmTagKey& tag) {
    const std::string s = get(d, tag);
    return s.empty() ? 0 : std::atoi(s.c_str());
}

// C-GET of one series, counting (and checking) what arrives.
class SeriesRetrieval : public Association {
  public:
    SeriesRetrieval(const DicomNode& node, const PacsOptions& options, const fs::path& folder,
                    std::set<std::string> expected, const ProgressReporter& progress)
        : Association(node, options), expected_(std::move(expected)), progress_(progress) {
        setStorageDir(folder.c_str());
        setStorageMode(DCMSCU_STORAGE_DISK);
        useTransferTimeout();
    }
    mutable std::set<std::string> received;  // SOP Instance UIDs, recorded by a const DCMTK hook
    bool cancelSent = false;
    T_ASC_PresentationContextID getContext = 0;  // the C-GET's, for C-CANCEL

  protected:
    void notifyInstanceStored(const OFString& filename, const OFString&,
                              const OFString& sopInstanceUid) const override {
        received.insert(sopInstanceUid.c_str());
        spdlog::debug("received {}", filename.c_str());
    }
    OFCondition handleSTORERequest(const T_ASC_PresentationContextID presID, DcmDataset* incoming,
                                   OFBool& continueSession, Uint16& status) override {
        const OFCondition c = DcmSCU::handleSTORERequest(presID, incoming, continueSession, status);
        try {
            progress_.report(double(received.size()) / double(std::max<std::size_t>(1, expected_.size())),
                             "Retrieved " + std::to_string(received.size()) + " of " +
                                 std::to_string(expected_.size()) + " images");
        } catch (const Cancelled&) {  // asked to stop: the server is told, the caller throws
        }
        if (progress_.isCancelled() && !cancelSent) {
            sendCANCELRequest(getContext);
            cancelSent = true;
        }
        return c;
    }

  private:
    std::set<std::string> expected_;
    ProgressReporter progress_;
};

}  // namespace

bool isDicomUid(const std::string& uid) {
    if (uid.empty() || uid.size() > 64 || uid.front() == '.' || uid.back() == '.') return false;
    for (std::size_t i = 0; i < uid.size(); ++i)
        if (!(std::isdigit(static_cast<unsigned char>(uid[i])) || (uid[i] == '.' && uid[i + 1] != '.')))
            return false;
    return true;
}

std::string DicomNode::describe() const { return aeTitle + "@" + host + ":" + std::to_string(port); }

void checkAeTitle(const std::string& aeTitle) {
    if (aeTitle.empty() || aeTitle.size() > 16)
        throw PacsError("The AE title '" + aeTitle + "' must have 1 to 16 characters.");
}

void checkNode(const DicomNode& node) {
    checkAeTitle(node.aeTitle);
    if (node.host.empty()) throw PacsError("The DICOM node " + node.aeTitle + " has no host.");
    if (node.port < 1 || node.port > 65535)
        throw PacsError("The port " + std::to_string(node.port) + " of " + node.aeTitle +
                        " is not 1..65535.");
}

DicomNode parseDicomNode(const std::string& text) {
    const auto at = text.find('@'), colon = text.rfind(':');
    if (at == std::string::npos || colon == std::string::npos || colon < at)
        throw PacsError("'" + text +
                        "' is not a DICOM node: write AE_TITLE@host:port, e.g. ORTHANC@127.0.0.1:4242.");
    DicomNode node;
    node.aeTitle = text.substr(0, at);
    node.host = text.substr(at + 1, colon - at - 1);
    const std::string port = text.substr(colon + 1);
    node.port = port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5
                    ? -1
                    : std::stoi(port);
    checkNode(node);
    return node;
}

void echo(const DicomNode& node, const PacsOptions& options) {
    Association a(node, options);
    a.addPresentationContext(UID_VerificationSOPClass, uncompressed());
    a.connect();
    if (const OFCondition c = a.sendECHORequest(a.context(UID_VerificationSOPClass, "verification (C-ECHO)"));
        c.bad())
        a.fail("C-ECHO", c);
}

std::vector<StudyRecord> findStudies(const DicomNode& node, const StudyQuery& query,
                                     const PacsOptions& options) {
    Association a(node, options);
    a.addPresentationContext(kFind, uncompressed());
    a.connect();
    DcmDataset keys;
    keys.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
    keys.putAndInsertString(DCM_StudyInstanceUID, "");
    keys.putAndInsertString(DCM_PatientName, query.patientName.c_str());
    keys.putAndInsertString(DCM_PatientID, query.patientId.c_str());
    keys.putAndInsertString(DCM_StudyDate, query.studyDate.c_str());
    keys.putAndInsertString(DCM_ModalitiesInStudy, query.modality.c_str());
    keys.putAndInsertString(DCM_AccessionNumber, query.accessionNumber.c_str());
    keys.putAndInsertString(DCM_StudyDescription, "");
    keys.putAndInsertString(DCM_NumberOfStudyRelatedSeries, "");
    keys.putAndInsertString(DCM_NumberOfStudyRelatedInstances, "");
    std::vector<StudyRecord> studies;
    for (const auto& d : find(a, keys, "study query")) {
        StudyRecord s;
        s.studyInstanceUid = get(*d, DCM_StudyInstanceUID);
        s.patientName = get(*d, DCM_PatientName);
        s.patientId = get(*d, DCM_PatientID);
        s.studyDate = get(*d, DCM_StudyDate);
        s.studyDescription = get(*d, DCM_StudyDescription);
        s.accessionNumber = get(*d, DCM_AccessionNumber);
        s.modalities = get(*d, DCM_ModalitiesInStudy);
        s.series = getInt(*d, DCM_NumberOfStudyRelatedSeries);
        s.instances = getInt(*d, DCM_NumberOfStudyRelatedInstances);
        studies.push_back(std::move(s));
    }
    std::sort(studies.begin(), studies.end(), [](const auto& x, const auto& y) {
        return x.studyDate != y.studyDate ? x.studyDate > y.studyDate : x.patientName < y.patientName;
    });
    return studies;
}

std::vector<SeriesRecord> findSeries(const DicomNode& node, const std::string& studyInstanceUid,
                                     const PacsOptions& options) {
    Association a(node, options);
    a.addPresentationContext(kFind, uncompressed());
    a.connect();
    DcmDataset keys;
    keys.putAndInsertString(DCM_QueryRetrieveLevel, "SERIES");
    keys.putAndInsertString(DCM_StudyInstanceUID, studyInstanceUid.c_str());
    for (const DcmTagKey& t : {DCM_SeriesInstanceUID, DCM_Modality, DCM_SeriesNumber, DCM_SeriesDescription,
                               DCM_NumberOfSeriesRelatedInstances})
        keys.putAndInsertString(t, "");
    std::vector<SeriesRecord> series;
    for (const auto& d : find(a, keys, "series query")) {
        SeriesRecord s;
        s.seriesInstanceUid = get(*d, DCM_SeriesInstanceUID);
        s.modality = get(*d, DCM_Modality);
        s.seriesNumber = get(*d, DCM_SeriesNumber);
        s.seriesDescription = get(*d, DCM_SeriesDescription);
        s.instances = getInt(*d, DCM_NumberOfSeriesRelatedInstances);
        series.push_back(std::move(s));
    }
    std::sort(series.begin(), series.end(), [](const auto& x, const auto& y) {
        return std::atoi(x.seriesNumber.c_str()) < std::atoi(y.seriesNumber.c_str());
    });
    return series;
}

fs::path retrieveSeries(const DicomNode& node, const std::string& studyInstanceUid,
                        const std::string& seriesInstanceUid, const fs::path& cacheDir,
                        const PacsOptions& options, const ProgressReporter& progress) {
    if (!isDicomUid(seriesInstanceUid) || !isDicomUid(studyInstanceUid))
        throw PacsError("'" + seriesInstanceUid + "' in study '" + studyInstanceUid +
                        "' is not a DICOM UID (digits and dots, at most 64 characters).");
    // What the series holds: every instance's UID and SOP class (the storage contexts to offer). A server
    // without image-level queries gets the common storage classes, and the C-GET's own counts then say
    // whether everything came.
    std::set<std::string> expected, classes;
    bool listed = true;
    try {
        Association a(node, options);
        a.addPresentationContext(kFind, uncompressed());
        a.connect();
        DcmDataset keys;
        keys.putAndInsertString(DCM_QueryRetrieveLevel, "IMAGE");
        keys.putAndInsertString(DCM_StudyInstanceUID, studyInstanceUid.c_str());
        keys.putAndInsertString(DCM_SeriesInstanceUID, seriesInstanceUid.c_str());
        keys.putAndInsertString(DCM_SOPInstanceUID, "");
        keys.putAndInsertString(DCM_SOPClassUID, "");
        for (const auto& d : find(a, keys, "image query")) {
            expected.insert(get(*d, DCM_SOPInstanceUID));
            classes.insert(get(*d, DCM_SOPClassUID));
        }
        expected.erase("");
        classes.erase("");
    } catch (const PacsError& e) {
        spdlog::warn("{}: no image-level query ({}); retrieving without a list of images", node.describe(),
                     e.what());
        listed = false;
    }
    if (listed && expected.empty())
        throw PacsError(node.describe() + " has no images of the series " + seriesInstanceUid + ".");
    if (classes.empty() || classes.size() > 100)
        classes = {UID_CTImageStorage,
                   UID_MRImageStorage,
                   UID_EnhancedCTImageStorage,
                   UID_EnhancedMRImageStorage,
                   UID_PositronEmissionTomographyImageStorage,
                   UID_EnhancedPETImageStorage,
                   UID_NuclearMedicineImageStorage,
                   UID_SegmentationStorage,
                   UID_SecondaryCaptureImageStorage,
                   UID_UltrasoundImageStorage,
                   UID_UltrasoundMultiframeImageStorage,
                   UID_DigitalXRayImageStorageForPresentation,
                   UID_ComputedRadiographyImageStorage,
                   UID_XRayAngiographicImageStorage,
                   UID_RTStructureSetStorage};

    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    const fs::path folder = cacheDir / seriesInstanceUid,
                   partial = cacheDir / (seriesInstanceUid + ".partial");
    fs::remove_all(partial, ec);
    if (!fs::create_directories(partial, ec) || ec)
        throw OutputError("Cannot create the cache folder " + partial.string() + ": " + ec.message() + ".");
    auto discardPartial = [&] { fs::remove_all(partial, ec); };
    std::size_t received = 0;
    try {
        SeriesRetrieval a(node, options, partial, expected, progress);
        a.addPresentationContext(kGet, uncompressed());
        for (const auto& c : classes)
            a.addPresentationContext(c.c_str(), receivedSyntaxes(), ASC_SC_ROLE_SCP);
        a.connect();
        DcmDataset keys;
        keys.putAndInsertString(DCM_QueryRetrieveLevel, "SERIES");
        keys.putAndInsertString(DCM_StudyInstanceUID, studyInstanceUid.c_str());
        keys.putAndInsertString(DCM_SeriesInstanceUID, seriesInstanceUid.c_str());
        progress.report(0, "Retrieving the series");
        OFList<RetrieveResponse*> responses;
        a.getContext = a.context(kGet, "retrieval (C-GET)");
        const OFCondition c = a.sendCGETRequest(a.getContext, &keys, &responses);
        Uint16 final = 0, failed = 0;
        for (auto* r : responses) {
            final = r->m_status;
            failed = r->m_numberOfFailedSubops;
            delete r;
        }
        if (a.cancelSent || progress.isCancelled()) throw Cancelled();
        if (c.bad()) a.fail("C-GET", c);
        if (final != STATUS_Success && final != STATUS_GET_Warning_SubOperationsCompleteOneOrMoreFailures)
            throw PacsError(node.describe() + " answered the retrieval with status " + statusText(final) +
                            ".");
        const bool whole =
            listed ? a.received == expected : final == STATUS_Success && failed == 0 && !a.received.empty();
        received = a.received.size();
        if (!whole)
            throw PacsError(node.describe() + " sent " + std::to_string(a.received.size()) + " of the " +
                            (listed ? std::to_string(expected.size()) : "unknown number of") +
                            " images of the series; the series was not kept.");
    } catch (...) {
        discardPartial();
        throw;
    }
    fs::remove_all(folder, ec);
    fs::rename(partial, folder, ec);
    if (ec) {
        discardPartial();
        throw OutputError("Cannot move the retrieved series to " + folder.string() + ": " + ec.message() +
                          ".");
    }
    spdlog::info("retrieved {} images of series {} from {} into {}", received, seriesInstanceUid,
                 node.describe(), folder.string());
    return folder;
}

StoreReport storeFiles(const DicomNode& node, const std::vector<fs::path>& files, const PacsOptions& options,
                       const ProgressReporter& progress) {
    // Each file's SOP class and transfer syntax, for the presentation contexts.
    struct Item {
        fs::path path;
        std::string sopClass, syntax;
    };
    std::vector<Item> items;
    for (const auto& f : files) {
        const auto meta = detail::readMetaHeader(f);
        if (!meta)
            throw InputError(f.string() +
                             " is not a DICOM file (it has no meta header naming its SOP class).");
        items.push_back({f, meta->sopClass, meta->transferSyntax});
    }
    // Per SOP class and transfer syntax a context of that syntax alone, so the file goes as it is, and per
    // SOP class one of the uncompressed syntaxes, to which DCMTK converts when the first is refused.
    Association a(node, options);
    std::set<std::pair<std::string, std::string>> proposed;
    std::set<std::string> classes;
    for (const auto& i : items) {
        if (proposed.insert({i.sopClass, i.syntax}).second) {
            OFList<OFString> ts;
            ts.push_back(i.syntax.c_str());
            a.addPresentationContext(i.sopClass.c_str(), ts);
        }
        if (classes.insert(i.sopClass).second) a.addPresentationContext(i.sopClass.c_str(), uncompressed());
    }
    a.connect();
    a.useTransferTimeout();
    StoreReport report;
    for (const auto& i : items) {
        progress.report(double(report.stored) / double(items.size()),
                        "Sending " + i.path.filename().string());
        const T_ASC_PresentationContextID id =
            a.findAnyPresentationContextID(i.sopClass.c_str(), i.syntax.c_str());
        if (id == 0)
            throw PacsError(node.describe() + " does not accept " + i.path.filename().string() +
                            " (SOP class " + i.sopClass + " in transfer syntax " + i.syntax + ").");
        Uint16 status = 0;
        if (const OFCondition c = a.sendSTORERequest(id, i.path.c_str(), nullptr, status); c.bad())
            a.fail("Sending " + i.path.filename().string(), c);
        if (status != STATUS_Success && (status & 0xF000) != 0xB000)
            throw PacsError(node.describe() + " refused " + i.path.filename().string() + " (status " +
                            statusText(status) + ").");
        ++report.stored;
    }
    try {
        progress.report(1, "Sent " + std::to_string(report.stored) + " files");
    } catch (const Cancelled&) {  // everything was sent: a cancel now changes nothing
    }
    spdlog::info("stored {} files on {}", report.stored, node.describe());
    return report;
}

}  // namespace engram
