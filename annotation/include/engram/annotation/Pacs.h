#pragma once
// DICOM networking with a PACS (DCMTK's dcmnet): verification (C-ECHO), query (C-FIND, Study Root, study
// and series level), retrieval of one series (C-GET into a local cache folder) and storage (C-STORE).
// Each call opens one association, does its work and releases it; it blocks, so the app runs it off the GUI
// thread. Failures throw PacsError with a message naming the node and what went wrong in plain words (the
// server does not answer, it refused the association, a query or transfer failed).

#include <engram/annotation/Progress.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace engram {

class PacsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A DICOM application entity on the network.
struct DicomNode {
    std::string aeTitle;  // the called AE title (at most 16 characters)
    std::string host;
    int port = 104;
    std::string describe() const;  // "ORTHANC@127.0.0.1:4242"
};

struct PacsOptions {
    std::string callingAeTitle = "ENGRAM";  // Engram's own AE title
    int timeoutSeconds = 10;                // connection, association and each query message
    int transferTimeoutSeconds = 120;       // each message of a retrieval or send (archives can be slow)
};

// True for a DICOM UID: digits in dot-separated parts, none empty, at most 64 characters.
bool isDicomUid(const std::string& uid);

// Throws PacsError naming the problem when a node's fields cannot work (empty or long AE title, bad port).
void checkNode(const DicomNode& node);
// Throws PacsError unless `aeTitle` has 1 to 16 characters.
void checkAeTitle(const std::string& aeTitle);
// "AE@host:port" (as describe() writes it) -> node; PacsError when it is not of that form.
DicomNode parseDicomNode(const std::string& text);

// C-ECHO: returns normally when the node answers.
void echo(const DicomNode& node, const PacsOptions& options = {});

struct StudyQuery {
    std::string patientName;  // DICOM wildcards allowed ("DOE^*")
    std::string patientId;
    std::string studyDate;  // YYYYMMDD or a range YYYYMMDD-YYYYMMDD
    std::string modality;   // ModalitiesInStudy, e.g. CT
    std::string accessionNumber;
};

struct StudyRecord {
    std::string studyInstanceUid, patientName, patientId, studyDate, studyDescription, accessionNumber,
        modalities;
    int series = 0, instances = 0;  // as the server reports them (0 when it does not)
};

struct SeriesRecord {
    std::string seriesInstanceUid, modality, seriesNumber, seriesDescription;
    int instances = 0;
};

std::vector<StudyRecord> findStudies(const DicomNode& node, const StudyQuery& query,
                                     const PacsOptions& options = {});
std::vector<SeriesRecord> findSeries(const DicomNode& node, const std::string& studyInstanceUid,
                                     const PacsOptions& options = {});

// Retrieves one series with C-GET into `cacheDir`/<SeriesInstanceUID>/ and returns that folder. The files
// arrive in a sibling folder ending in ".partial", which takes the final name only when every instance the
// server listed for the series has arrived; a failure or cancel removes it, so a folder in the cache without
// the suffix is always a complete series. An existing complete folder is replaced. Progress counts
// instances; cancelling sends C-CANCEL and throws Cancelled.
std::filesystem::path retrieveSeries(const DicomNode& node, const std::string& studyInstanceUid,
                                     const std::string& seriesInstanceUid,
                                     const std::filesystem::path& cacheDir, const PacsOptions& options = {},
                                     const ProgressReporter& progress = {});

// C-STORE of DICOM files (a SEG, or every file of a folder) on one association. Throws PacsError when the
// node cannot be reached or refuses any file (naming it and the status).
struct StoreReport {
    std::size_t stored = 0;
};
StoreReport storeFiles(const DicomNode& node, const std::vector<std::filesystem::path>& files,
                       const PacsOptions& options = {}, const ProgressReporter& progress = {});

}  // namespace engram
