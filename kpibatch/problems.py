"""Every kind of problem kpibatch reports: one class per kind, each with a code and message templates.

Modelled on frictionless-py: a problem names its file, sheet and cell, says what is wrong in Thai and
English, and says what to do. Readers and validators collect every problem in a file before anything
is reported, so a division fixes its workbook in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, kw_only=True)
class Problem:
    """Base class. Subclasses set ``code``, the message templates and, where useful, the fix."""

    code: ClassVar[str] = "problem"
    severity: ClassVar[Severity] = "error"
    template_th: ClassVar[str] = "{detail}"
    template_en: ClassVar[str] = "{detail}"
    fix_th: ClassVar[str] = ""
    fix_en: ClassVar[str] = ""

    file: str = ""
    sheet: str = ""
    cell: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message_th(self) -> str:
        return self.template_th.format(**self.params)

    @property
    def message_en(self) -> str:
        return self.template_en.format(**self.params)

    @property
    def message(self) -> str:
        return f"{self.message_th} / {self.message_en}"

    @property
    def location(self) -> str:
        """``file › sheet › cell`` with the parts that are known."""
        return " › ".join(part for part in (self.file, self.sheet, self.cell) if part)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "sheet": self.sheet,
            "cell": self.cell,
            "message": self.message,
            "message_th": self.message_th,
            "message_en": self.message_en,
            "fix_th": self.fix_th.format(**self.params),
            "fix_en": self.fix_en.format(**self.params),
        }

    def render(self) -> str:
        """One line for a terminal or a text file."""
        where = self.location or "-"
        return f"[{self.code}] {where}: {self.message}"


class Warning_(Problem):
    severity: ClassVar[Severity] = "warning"


# --- the file as a whole -------------------------------------------------------------------------


class FileUnreadable(Problem):
    code = "file-unreadable"
    template_th = "เปิดไฟล์ไม่ได้: {detail}"
    template_en = "The file cannot be opened: {detail}"
    fix_th = "บันทึกไฟล์ใหม่ด้วย Excel เป็นชนิด .xlsx แล้วส่งอีกครั้ง"
    fix_en = "Save the file again from Excel as .xlsx and resubmit it."


class SheetMissing(Problem):
    code = "sheet-missing"
    template_th = "ไม่พบชีต {expected}"
    template_en = "Sheet {expected} not found"
    fix_th = "ตั้งชื่อชีตตามแม่แบบ ({expected})"
    fix_en = "Name the sheet as in the template ({expected})."


class SheetMisnamed(SheetMissing):
    """A sheet with a name close to a template sheet's: the division most likely renamed it."""

    template_th = "ชีต {found} ไม่ใช่ชื่อชีตตามแม่แบบ (หมายถึง {canonical} หรือไม่?)"
    template_en = "Sheet {found} not found in the template (did you mean {canonical}?)"
    fix_th = "เปลี่ยนชื่อชีต {found} เป็น {canonical}"
    fix_en = "Rename the sheet {found} to {canonical}."


class TemplateTooNew(Problem):
    code = "template-too-new"
    template_th = "แม่แบบรุ่น {found} ใหม่กว่าที่โปรแกรมนี้รองรับ (รุ่น {supported})"
    template_en = "Template version {found} is newer than this program supports (version {supported})"
    fix_th = "ปรับรุ่นโปรแกรม kpibatch หรือใช้แม่แบบรุ่นที่หน่วยงานกลางส่งให้"
    fix_en = "Upgrade kpibatch, or use the template the planning unit sent."


class FormulaWithoutValue(Problem):
    code = "formula-without-value"
    template_th = "เซลล์มีสูตร {formula} แต่ไม่มีค่าที่คำนวณไว้"
    template_en = "The cell holds the formula {formula} but no calculated value"
    fix_th = "เปิดไฟล์ใน Excel แล้วกดบันทึก เพื่อให้ Excel คำนวณค่า หรือพิมพ์ค่าแทนสูตร"
    fix_en = "Open the file in Excel and save it so that Excel calculates the value, or type the value."


# --- the file before it is opened (kpibatch/read/precheck.py) -----------------------------------
# These are found from the file's first bytes and its zip directory, before any parser sees it, so
# that a hostile or broken file never reaches openpyxl or calamine.


class FileEmpty(Problem):
    code = "file-empty"
    template_th = "ไฟล์ว่างเปล่า (0 ไบต์)"
    template_en = "The file is empty (0 bytes)"
    fix_th = "ส่งไฟล์อีกครั้ง ไฟล์อาจคัดลอกหรือบันทึกไม่สำเร็จ"
    fix_en = "Send the file again; it may not have been copied or saved completely."


class FileTooLarge(Problem):
    code = "file-too-large"
    template_th = "ไฟล์มีขนาด {size_mb} MB เกินขีดจำกัด {limit_mb} MB"
    template_en = "The file is {size_mb} MB, over the limit of {limit_mb} MB"
    fix_th = "ลบชีต รูปภาพ หรือข้อมูลที่ไม่เกี่ยวข้องกับตัวชี้วัดออก แล้วส่งใหม่"
    fix_en = "Remove sheets, pictures or data not needed for the KPIs and resubmit."


class FileNotPermitted(FileUnreadable):
    """The batch's service account may not read the file (its permissions, not its content)."""

    template_th = "โปรแกรมไม่มีสิทธิ์อ่านไฟล์นี้ ({detail}) จึงปล่อยไว้ในโฟลเดอร์รับไฟล์"
    template_en = "kpibatch may not read this file ({detail}); it was left in the inbox"
    fix_th = "ให้ผู้ดูแลเครื่องเปิดสิทธิ์อ่านไฟล์ หรือคัดลอกไฟล์มาวางใหม่ ไฟล์จะถูกอ่านในรอบถัดไป"
    fix_en = "Have the file made readable, or copy it into the inbox again; the next run reads it."


class NameUndecodable(Problem):
    code = "name-undecodable"
    template_th = "ชื่อไฟล์ไม่ใช่ UTF-8 ({detail}) จึงปล่อยไว้ในโฟลเดอร์รับไฟล์ตามเดิม"
    template_en = "The file name is not UTF-8 ({detail}); the file was left in the inbox as it is"
    fix_th = "เปลี่ยนชื่อไฟล์ (เช่น จากเครื่อง Windows เครื่องใหม่) แล้ววางไฟล์ใหม่"
    fix_en = "Rename the file (e.g. from an up-to-date Windows machine) and drop it again."


class LinkLoop(Problem):
    code = "link-loop"
    template_th = "เป็นลิงก์ที่วนกลับมาที่ตัวเอง ไม่มีไฟล์จริง ({detail}) จึงปล่อยไว้ในโฟลเดอร์รับไฟล์"
    template_en = (
        "A symbolic link that leads back to itself, with no file behind it ({detail}); left in the inbox"
    )
    fix_th = "ลบลิงก์นี้ แล้ววางตัวไฟล์จริงลงในโฟลเดอร์รับไฟล์"
    fix_en = "Remove the link and drop the workbook itself into the inbox."


class FileIsLink(Problem):
    code = "file-is-link"
    template_th = "เป็นลิงก์ (symbolic link) ไปยัง {detail} ไม่ใช่ตัวไฟล์ จึงไม่อ่านและปล่อยไว้ในโฟลเดอร์รับไฟล์"
    template_en = "A symbolic link to {detail}, not a file: it is not followed and was left in the inbox"
    fix_th = "ลบลิงก์นี้ แล้ววางตัวไฟล์จริงลงในโฟลเดอร์รับไฟล์"
    fix_en = "Remove the link and drop the workbook itself into the inbox."


class FileVanished(Problem):
    code = "file-vanished"
    template_th = "ไฟล์ถูกย้าย เปลี่ยนชื่อ หรือลบระหว่างการประมวลผล ({detail})"
    template_en = "The file was moved, renamed or deleted while the batch ran ({detail})"
    fix_th = "ไม่ต้องทำอะไร ไฟล์ที่อยู่ในโฟลเดอร์รับไฟล์จะถูกอ่านในรอบถัดไป"
    fix_en = "Nothing to do: whatever is in the inbox is read on the next run."


class NotAWorkbook(Problem):
    code = "not-a-workbook"
    template_th = "ไฟล์นี้ไม่ใช่ไฟล์ Excel (.xlsx) แต่เป็น{kind_th}"
    template_en = "This is not an Excel workbook (.xlsx) but {kind_en}"
    fix_th = "เปิดข้อมูลใน Excel แล้วบันทึกเป็นชนิด Excel Workbook (.xlsx) ตามแม่แบบ แล้วส่งใหม่"
    fix_en = (
        "Open the data in Excel, save it as an Excel Workbook (.xlsx) following the template and resubmit."
    )


class OldFormat(Problem):
    code = "old-format"
    template_th = "ไฟล์เป็นชนิด {format} ซึ่งโปรแกรมไม่อ่าน"
    template_en = "The file is in the {format} format, which kpibatch does not read"
    fix_th = "เปิดไฟล์ใน Excel แล้วใช้ บันทึกเป็น > Excel Workbook (.xlsx) แล้วส่งใหม่"
    fix_en = "Open it in Excel, use Save As > Excel Workbook (.xlsx) and resubmit."


class WrongExtension(Problem):
    code = "wrong-extension"
    template_th = "ชื่อไฟล์ลงท้ายด้วย {suffix} แต่รับเฉพาะไฟล์ .xlsx หรือ .xlsm"
    template_en = "The file name ends in {suffix}; only .xlsx and .xlsm files are read"
    fix_th = "บันทึกเป็น Excel Workbook (.xlsx) แล้วส่งใหม่"
    fix_en = "Save it as an Excel Workbook (.xlsx) and resubmit."


class WorkbookEncrypted(Problem):
    code = "workbook-encrypted"
    template_th = "ไฟล์ถูกตั้งรหัสผ่าน (เข้ารหัส) จึงอ่านไม่ได้"
    template_en = "The workbook is password-protected (encrypted) and cannot be read"
    fix_th = (
        "เปิดไฟล์ใน Excel ไปที่ ไฟล์ > ข้อมูล > ป้องกันเวิร์กบุ๊ก > เข้ารหัสด้วยรหัสผ่าน ลบรหัสผ่านให้ว่าง กดตกลง บันทึก แล้วส่งใหม่"
    )
    fix_en = (
        "Open it in Excel, go to File > Info > Protect Workbook > Encrypt with Password, clear the "
        "password, save and resubmit."
    )


class ZipTruncated(Problem):
    code = "zip-truncated"
    template_th = "ไฟล์ไม่สมบูรณ์ (ถูกตัดท้าย) อาจยังคัดลอกไม่เสร็จหรือดาวน์โหลดไม่ครบ"
    template_en = "The file is incomplete (cut off): it may still have been copying or downloading"
    fix_th = "ส่งไฟล์อีกครั้งเมื่อคัดลอกเสร็จแล้ว"
    fix_en = "Send the file again once it has been copied completely."


class ZipDamaged(Problem):
    code = "zip-damaged"
    template_th = "โครงสร้างไฟล์เสียหาย: {detail}"
    template_en = "The file's structure is damaged: {detail}"
    fix_th = "เปิดไฟล์ใน Excel (Excel อาจเสนอให้ซ่อมแซม) แล้วบันทึกเป็น .xlsx ใหม่ แล้วส่งอีกครั้ง"
    fix_en = "Open it in Excel (Excel may offer to repair it), save it as .xlsx again and resubmit."


class ZipTooManyMembers(Problem):
    code = "zip-too-many-members"
    template_th = "ไฟล์ประกอบด้วยส่วนย่อย {count} ส่วน เกินขีดจำกัด {limit} ส่วน"
    template_en = "The file holds {count} parts, over the limit of {limit}"
    fix_th = "ลบชีต รูปภาพ หรือวัตถุที่ไม่เกี่ยวข้องกับตัวชี้วัดออก แล้วส่งใหม่"
    fix_en = "Remove sheets, pictures or objects not needed for the KPIs and resubmit."


class ZipTooLarge(Problem):
    code = "zip-too-large"
    template_th = "ไฟล์เมื่อขยายแล้วมีขนาด {size_mb} MB เกินขีดจำกัด {limit_mb} MB"
    template_en = "The file expands to {size_mb} MB, over the limit of {limit_mb} MB"
    fix_th = "ลบข้อมูลที่ไม่เกี่ยวข้องกับตัวชี้วัดออก (เช่น แถวหรือคอลัมน์ว่างที่จัดรูปแบบไว้) แล้วส่งใหม่"
    fix_en = "Remove data not needed for the KPIs (such as formatted empty rows or columns) and resubmit."


class ZipRatioTooHigh(Problem):
    code = "zip-ratio-too-high"
    template_th = "ส่วน {member} ของไฟล์ขยายได้ {ratio} เท่า เกินขีดจำกัด {limit} เท่า (ลักษณะของ zip bomb)"
    template_en = "Part {member} expands {ratio} times, over the limit of {limit} (a zip bomb pattern)"
    fix_th = "บันทึกไฟล์ใหม่ด้วย Excel จากข้อมูลต้นฉบับ แล้วส่งใหม่"
    fix_en = "Save the workbook again from Excel from the original data and resubmit."


class XmlDeclaresEntities(Problem):
    code = "xml-entities"
    template_th = "ส่วน {member} ของไฟล์มีการประกาศ DOCTYPE หรือ ENTITY ซึ่งไฟล์ Excel ปกติไม่มี จึงไม่อ่านไฟล์นี้"
    template_en = (
        "Part {member} declares a DOCTYPE or entities, which Excel never writes; the file is not read"
    )
    fix_th = "สร้างไฟล์ใหม่ด้วย Excel จากแม่แบบ แล้วส่งใหม่"
    fix_en = "Make the workbook again in Excel from the template and resubmit."


class XmlInvalid(Problem):
    code = "xml-invalid"
    template_th = "ข้อมูล XML ในไฟล์เสียหายหรือมีโครงสร้างที่ไม่อนุญาต: {detail}"
    template_en = "The XML inside the file is damaged or not allowed: {detail}"
    fix_th = "เปิดไฟล์ใน Excel แล้วบันทึกเป็น .xlsx ใหม่ แล้วส่งอีกครั้ง"
    fix_en = "Open it in Excel, save it as .xlsx again and resubmit."


class SheetDimensionTooLarge(Problem):
    code = "sheet-dimension-too-large"
    template_th = (
        "ชีตระบุขอบเขตข้อมูล {ref} ({rows} แถว × {columns} คอลัมน์) เกินขีดจำกัด {max_rows} แถว × {max_columns} คอลัมน์"
    )
    template_en = (
        "The sheet declares the range {ref} ({rows} rows × {columns} columns), over the limit of "
        "{max_rows} rows × {max_columns} columns"
    )
    fix_th = "ลบแถวและคอลัมน์ว่างด้านล่างและด้านขวาของตาราง (Ctrl+End แสดงเซลล์สุดท้าย) แล้วบันทึกและส่งใหม่"
    fix_en = (
        "Delete the empty rows and columns below and right of the table (Ctrl+End shows the last "
        "cell), save and resubmit."
    )


class SheetExtentTooLarge(Problem):
    code = "sheet-extent-too-large"
    template_th = (
        "ชีตมีข้อมูลถึงเซลล์ {cell_ref} ({rows} แถว × {columns} คอลัมน์, {cells} เซลล์) "
        "เกินขีดจำกัด {max_rows} แถว × {max_columns} คอลัมน์"
    )
    template_en = (
        "The sheet holds data up to {cell_ref} ({rows} rows × {columns} columns, {cells} cells), over "
        "the limit of {max_rows} rows × {max_columns} columns"
    )
    fix_th = "ลบข้อมูลที่ไม่เกี่ยวข้องกับตัวชี้วัดออกจากชีตนี้ แล้วบันทึกและส่งใหม่"
    fix_en = "Remove the data not needed for the KPIs from this sheet, save and resubmit."


class ReadCrashed(Problem):
    code = "read-failed"
    template_th = "อ่านไฟล์ไม่สำเร็จ เกิดข้อผิดพลาด {kind}: {detail}"
    template_en = "The file could not be read: {kind}: {detail}"
    fix_th = "เปิดไฟล์ใน Excel แล้วบันทึกเป็น .xlsx ใหม่ แล้วส่งอีกครั้ง ถ้ายังไม่ได้ ให้ส่งไฟล์ให้ผู้ดูแลระบบ"
    fix_en = (
        "Open it in Excel, save it as .xlsx again and resubmit; if that does not help, send it to "
        "the administrator."
    )


class CheckCrashed(Problem):
    code = "check-crashed"
    template_th = "ตรวจไฟล์นี้ไม่สำเร็จ: {detail_th}"
    template_en = "Checking this file failed: {detail_en}"
    fix_th = "เปิดไฟล์ใน Excel ตรวจว่าไม่มีข้อมูลหรือรูปแบบเกินพื้นที่ตาราง แล้วบันทึกใหม่เป็น .xlsx และส่งอีกครั้ง"
    fix_en = (
        "Open the file in Excel, remove data or formatting far outside the table, save it as .xlsx "
        "and resubmit it."
    )


class CheckTimedOut(Problem):
    code = "check-timed-out"
    template_th = "ตรวจไฟล์นี้ไม่เสร็จภายใน {seconds} วินาที"
    template_en = "Checking this file took longer than {seconds} seconds"
    fix_th = "ลดขนาดไฟล์ (ลบชีตหรือข้อมูลที่ไม่ใช้) แล้วส่งอีกครั้ง"
    fix_en = "Make the file smaller (remove unused sheets or data) and resubmit it."


# --- the Division sheet --------------------------------------------------------------------------


class KeyMissing(Problem):
    code = "key-missing"
    template_th = "ไม่พบ {key_th} ในชีตหน่วยงาน"
    template_en = "{key_en} is missing from the division sheet"
    fix_th = "พิมพ์ {key_th} ในคอลัมน์ A และค่าในคอลัมน์ B"
    fix_en = "Type {key_en} in column A and its value in column B."


class FiscalYearInvalid(Problem):
    code = "fiscal-year-invalid"
    template_th = "ปีงบประมาณ {value} ไม่ถูกต้อง"
    template_en = "Fiscal year {value} is not a valid year"
    fix_th = "ใส่ปี พ.ศ. เช่น 2563 (หรือ ค.ศ. เช่น 2020)"
    fix_en = "Type a Buddhist-era year such as 2563 (or a Common-era year such as 2020)."


class RoundInvalid(Problem):
    code = "round-invalid"
    template_th = "รอบการประเมิน {value} ไม่ถูกต้อง"
    template_en = "Round {value} is not 6, 9 or 12"
    fix_th = "ใส่รอบ 6, 9 หรือ 12 เดือน"
    fix_en = "Type 6, 9 or 12."


# --- the KPI sheet -------------------------------------------------------------------------------


class HeaderMissing(Problem):
    code = "header-missing"
    template_th = "ไม่พบแถวหัวตารางที่มีคอลัมน์รหัสตัวชี้วัด"
    template_en = "No header row with a KPI code column was found"
    fix_th = "ใส่หัวคอลัมน์ 'ตัวชี้วัด' หรือ 'code' ตามแม่แบบ"
    fix_en = "Add the header 'code' (ตัวชี้วัด) as in the template."


class ColumnMissing(Problem):
    code = "column-missing"
    template_th = "ไม่พบคอลัมน์ {column_th}"
    template_en = "Column {column_en} is missing"
    fix_th = "เพิ่มคอลัมน์ {column_th} ในแถวหัวตาราง"
    fix_en = "Add the column {column_en} to the header row."


class NumberInvalid(Problem):
    code = "number-invalid"
    template_th = "{field_th} '{value}' ไม่ใช่ตัวเลข"
    template_en = "{field_en} '{value}' is not a number"
    fix_th = "พิมพ์ตัวเลข เช่น 87.5 หรือ 1,250 (ใช้จุดเป็นทศนิยม)"
    fix_en = "Type a number such as 87.5 or 1,250 (a dot is the decimal separator)."


class NoKpis(Problem):
    code = "no-kpis"
    template_th = "ชีตตัวชี้วัดไม่มีแถวตัวชี้วัด"
    template_en = "The KPI sheet has no KPI rows"
    fix_th = "กรอกตัวชี้วัด น้ำหนัก เกณฑ์ และผลการดำเนินงาน ใต้แถวหัวตาราง"
    fix_en = "Fill in the KPIs, weights, levels and results below the header row."


class CodeInvalid(Problem):
    code = "code-invalid"
    template_th = "รหัสตัวชี้วัด '{value}' ไม่ถูกต้อง"
    template_en = "KPI code '{value}' is not a code like 2.1 or 15.1.2"
    fix_th = "ใช้รหัสตัวเลขคั่นด้วยจุด เช่น 2.1 หรือ 15.1.2"
    fix_en = "Use numbers separated by dots, such as 2.1 or 15.1.2."


class CodeDuplicate(Problem):
    code = "code-duplicate"
    template_th = "รหัสตัวชี้วัด {value} ซ้ำกับแถว {first_row}"
    template_en = "KPI code {value} repeats the one in row {first_row}"
    fix_th = "ใช้รหัสตัวชี้วัดแต่ละรหัสเพียงครั้งเดียว"
    fix_en = "Use each KPI code once."


class NameMissing(Problem):
    code = "name-missing"
    template_th = "ตัวชี้วัด {kpi} ไม่มีรายละเอียดตัวชี้วัด"
    template_en = "KPI {kpi} has no description"
    fix_th = "พิมพ์ชื่อหรือรายละเอียดตัวชี้วัด"
    fix_en = "Type the KPI's description."


class WeightMissing(Problem):
    code = "weight-missing"
    template_th = "ตัวชี้วัด {kpi} ไม่มีน้ำหนัก"
    template_en = "KPI {kpi} has no weight"
    fix_th = "ใส่น้ำหนักของตัวชี้วัด (น้ำหนักเดิมตามคำรับรองฯ แม้จะไม่ได้ประเมินในรอบนี้)"
    fix_en = "Type the KPI's weight (its agreed weight, even when it is not assessed this round)."


class WeightNegative(Problem):
    code = "weight-negative"
    template_th = "น้ำหนักของตัวชี้วัด {kpi} ติดลบ ({value})"
    template_en = "KPI {kpi} has a negative weight ({value})"
    fix_th = "ใส่น้ำหนักเป็นจำนวนบวก"
    fix_en = "Type a positive weight."


class WeightSum(Problem):
    code = "weight-sum"
    template_th = "น้ำหนักตัวชี้วัดระดับบนรวมได้ {total} ({gap_th}) ต้องรวมเป็น 100"
    template_en = "The top-level weights sum to {total} ({gap_en}); they must sum to 100"
    fix_th = "ปรับน้ำหนักให้รวมเป็น 100"
    fix_en = "Adjust the weights so that they sum to 100."


class MethodUnknown(Problem):
    code = "method-unknown"
    template_th = "ไม่รู้จักวิธีให้คะแนน '{value}' ของตัวชี้วัด {kpi}"
    template_en = "KPI {kpi}: unknown scoring method '{value}'"
    fix_th = "เลือก threshold (เทียบเกณฑ์), milestone (ระดับขั้น) หรือ score (คะแนน)"
    fix_en = "Choose threshold, milestone or score."


class MethodMissing(Problem):
    code = "method-missing"
    template_th = "ตัวชี้วัด {kpi} ไม่มีเกณฑ์ระดับ 1-5 และไม่ได้ระบุวิธีให้คะแนน"
    template_en = "KPI {kpi} has neither levels 1-5 nor a scoring method"
    fix_th = "ใส่เกณฑ์ระดับ 1-5 หรือระบุวิธีให้คะแนน milestone / score"
    fix_en = "Fill levels 1-5, or set the method to milestone or score."


class LevelsMissing(Problem):
    code = "levels-missing"
    template_th = "ตัวชี้วัด {kpi} ให้คะแนนแบบเทียบเกณฑ์แต่ไม่มีเกณฑ์ระดับ"
    template_en = "KPI {kpi} is scored by threshold but has no levels"
    fix_th = "ใส่ค่าเกณฑ์อย่างน้อยหนึ่งระดับ"
    fix_en = "Fill at least one level."


class LevelsNotMonotone(Problem):
    code = "levels-not-monotone"
    template_th = "ตัวชี้วัด {kpi}: เกณฑ์ระดับ {level} ({value}) ไม่อยู่ระหว่างระดับ {before} และระดับ {after}"
    template_en = "KPI {kpi}: level {level} ({value}) is not between levels {before} and {after}"
    fix_th = "เกณฑ์ต้องเพิ่มขึ้น (มากดี) หรือลดลง (น้อยดี) ทุกระดับ"
    fix_en = "Levels must all increase (higher is better) or all decrease (lower is better)."


class DirectionUnknown(Problem):
    code = "direction-unknown"
    template_th = "ไม่รู้จักทิศทาง '{value}' ของตัวชี้วัด {kpi}"
    template_en = "KPI {kpi}: unknown direction '{value}'"
    fix_th = "เลือก มาก (higher) หรือ น้อย (lower)"
    fix_en = "Choose higher (มาก) or lower (น้อย)."


class DirectionMismatch(Problem):
    code = "direction-mismatch"
    template_th = "ตัวชี้วัด {kpi}: ทิศทาง '{value}' ขัดกับเกณฑ์ที่{levels_th}"
    template_en = "KPI {kpi}: direction '{value}' disagrees with levels that {levels_en}"
    fix_th = "แก้ทิศทางหรือเกณฑ์ให้ตรงกัน"
    fix_en = "Make the direction and the levels agree."


class ResultOutOfRange(Problem):
    code = "result-out-of-range"
    template_th = "ตัวชี้วัด {kpi}: ผล {value} ต้องอยู่ระหว่าง 0 ถึง 5 สำหรับวิธี {method}"
    template_en = "KPI {kpi}: result {value} must be between 0 and 5 for method {method}"
    fix_th = "ใส่ระดับหรือคะแนนที่ได้ ระหว่าง 0 ถึง 5"
    fix_en = "Type the level or score reached, from 0 to 5."


class ResultsEmpty(Problem):
    """A file in which no assessed KPI has a result: most likely a template sent back unfilled.

    Rejected rather than scored 0, so that it cannot replace the division's real submission."""

    code = "results-empty"
    template_th = (
        "ไม่มีผลการดำเนินงานของตัวชี้วัดที่ประเมินในรอบนี้เลย (เซลล์ {cells} ว่างทั้งหมด) "
        "ไฟล์นี้จึงไม่ถูกนำมาคิดคะแนนและไม่แทนที่ไฟล์ที่ส่งก่อนหน้า"
    )
    template_en = (
        "No KPI assessed this round has a result (cells {cells} are all blank); the file is not scored "
        "and does not replace an earlier submission"
    )
    fix_th = "กรอกผลการดำเนินงาน หรือใส่ข้อความในคอลัมน์สถานะของตัวชี้วัดที่ไม่ได้ประเมินในรอบนี้ แล้วส่งอีกครั้ง"
    fix_en = "Type the results, or a status text for the KPIs not assessed this round, and resubmit."


# --- the Reallocations sheet ---------------------------------------------------------------------


class ReallocationUnknownCode(Problem):
    code = "reallocation-unknown-code"
    template_th = "การโอนน้ำหนักอ้างถึงข้อ {value} ซึ่งไม่มีในชีตตัวชี้วัด"
    template_en = "The reallocation names {value}, which does not exist in the KPI sheet"
    fix_th = "ใช้รหัสตัวชี้วัดที่มีอยู่ในชีตตัวชี้วัด"
    fix_en = "Use a code from the KPI sheet."


class ReallocationFromAssessed(Problem):
    code = "reallocation-from-assessed"
    template_th = "โอนน้ำหนักออกจากข้อ {value} ซึ่งมีการประเมินในรอบนี้ไม่ได้"
    template_en = "Weight cannot move out of {value}, which is assessed this round"
    fix_th = "โอนได้เฉพาะน้ำหนักของตัวชี้วัดที่ไม่ได้ประเมิน (มีข้อความในคอลัมน์สถานะ)"
    fix_en = "Only a KPI that is not assessed (has a status text) can give its weight."


class ReallocationToNotAssessed(Problem):
    code = "reallocation-to-not-assessed"
    template_th = "โอนน้ำหนักไปข้อ {value} ซึ่งไม่ได้ประเมินในรอบนี้ไม่ได้"
    template_en = "Weight cannot move into {value}, which is not assessed this round"
    fix_th = "โอนน้ำหนักไปยังตัวชี้วัดที่มีการประเมิน"
    fix_en = "Move the weight onto an assessed KPI."


class ReallocationTooMuch(Problem):
    code = "reallocation-too-much"
    template_th = "โอนน้ำหนักออกจากข้อ {value} รวม {moved} มากกว่าน้ำหนักเดิม {weight}"
    template_en = "{moved} of weight moves out of {value}, more than its weight {weight}"
    fix_th = "ลดน้ำหนักที่โอนให้ไม่เกินน้ำหนักเดิม"
    fix_en = "Move no more than the KPI's weight."


class ReallocationWeightInvalid(Problem):
    code = "reallocation-weight-invalid"
    template_th = "น้ำหนักที่โอน '{value}' ต้องเป็นจำนวนบวก"
    template_en = "The weight moved, '{value}', must be a positive number"
    fix_th = "ใส่น้ำหนักที่โอนเป็นจำนวนบวก"
    fix_en = "Type a positive weight."


class ReallocationAcrossLevels(Problem):
    code = "reallocation-across-levels"
    template_th = "โอนน้ำหนักจากข้อ {source} ไปข้อ {target} ซึ่งอยู่ต่างระดับหรือต่างตัวชี้วัดหลักกันไม่ได้"
    template_en = "Weight cannot move from {source} to {target}: they do not share the same parent"
    fix_th = "โอนน้ำหนักระหว่างตัวชี้วัดที่อยู่ในระดับเดียวกันเท่านั้น"
    fix_en = "Move weight only between KPIs of the same level under the same parent."


# --- warnings ------------------------------------------------------------------------------------


class ResultMissing(Warning_):
    code = "result-missing"
    template_th = "ตัวชี้วัด {kpi} ไม่ได้รายงานผล ได้คะแนน 0"
    template_en = "KPI {kpi} has no result and scores 0"
    fix_th = "ใส่ผลการดำเนินงาน หรือใส่ข้อความในคอลัมน์สถานะถ้าไม่ได้ประเมินในรอบนี้"
    fix_en = "Type the result, or a status text if the KPI is not assessed this round."


class WeightUnallocated(Warning_):
    code = "weight-unallocated"
    template_th = "น้ำหนัก {weight} ของข้อ {kpi} ที่ไม่ได้ประเมินไม่ได้โอนไปข้อใด คะแนนรวมคิดจากน้ำหนัก {base}"
    template_en = "{weight} of the weight of {kpi} (not assessed) moves nowhere; the total is over {base}"
    fix_th = "เพิ่มแถวในชีตการโอนน้ำหนัก ถ้าต้องการโอนน้ำหนักนี้"
    fix_en = "Add a row to the Reallocations sheet to move this weight."


class ParentValueIgnored(Warning_):
    code = "parent-value-ignored"
    template_th = "ตัวชี้วัด {kpi} มีตัวชี้วัดย่อย ค่าผลหรือเกณฑ์ในแถวนี้จึงไม่ถูกนำมาคิด"
    template_en = "KPI {kpi} has sub-KPIs, so the result and levels on its own row are ignored"


class NoAssessedChildren(Warning_):
    code = "no-assessed-children"
    template_th = "ตัวชี้วัด {kpi} ไม่มีตัวชี้วัดย่อยที่ประเมินในรอบนี้ จึงถือว่าไม่ได้ประเมิน"
    template_en = "KPI {kpi} has no assessed sub-KPI this round, so it counts as not assessed"


class ChildOfNotAssessed(Warning_):
    code = "child-of-not-assessed"
    template_th = "ตัวชี้วัดหลัก {parent} ไม่ได้ประเมินในรอบนี้ ผลของข้อ {kpi} จึงไม่ถูกนำมาคิด"
    template_en = "{parent} is not assessed this round, so the result of {kpi} is not counted"


class ChildWeightsSum(Warning_):
    """Sub-KPI weights that add up to neither the parent's weight, nor 1, nor 100: most likely a typo,
    since the weights are only proportions inside the parent and the score does not show it."""

    code = "child-weights-sum"
    template_th = (
        "น้ำหนักของตัวชี้วัดย่อยของข้อ {kpi} รวมได้ {total} ซึ่งไม่เท่ากับน้ำหนักของข้อ {kpi} ({weight}) "
        "หรือ 1 หรือ 100 (คะแนนยังคิดตามสัดส่วนของน้ำหนักที่กรอก)"
    )
    template_en = (
        "The sub-KPIs of {kpi} have weights that sum to {total}, not to the weight of {kpi} ({weight}), "
        "1 or 100 (scored in proportion to the weights as typed)"
    )
    fix_th = "ตรวจน้ำหนักของตัวชี้วัดย่อยให้รวมเท่ากับน้ำหนักของตัวชี้วัดหลัก หรือ 1 หรือ 100"
    fix_en = "Check the sub-KPI weights: they should add up to the parent's weight, to 1 or to 100."


class NothingAssessed(Warning_):
    code = "nothing-assessed"
    template_th = "ไม่มีตัวชี้วัดที่ประเมินในรอบนี้ จึงไม่มีคะแนนรวม"
    template_en = "No KPI is assessed this round, so there is no total"


class MacrosIgnored(Warning_):
    code = "macros-ignored"
    template_th = "ไฟล์มีแมโคร (VBA) ซึ่งไม่ได้ถูกเรียกใช้ โปรแกรมอ่านเฉพาะค่าในเซลล์"
    template_en = "The file holds macros (VBA); they were ignored and never run, only cell values were read"
    fix_th = "ถ้าค่าในเซลล์ต้องคำนวณด้วยแมโคร ให้เรียกแมโครใน Excel แล้วบันทึกก่อนส่ง"
    fix_en = "If a macro computes the values, run it in Excel and save before submitting."


class TextTooLong(Warning_):
    code = "text-too-long"
    template_th = "{field_th} ยาว {length} ตัวอักษร เกินกว่าที่ Excel รับได้ ({limit}) จึงถูกตัดให้สั้นลง"
    template_en = "{field_en} is {length} characters long, more than Excel holds ({limit}); it was cut"
    fix_th = "ย่อข้อความให้สั้นลง"
    fix_en = "Shorten the text."


class ResultsBlanked(Warning_):
    """A resubmission that leaves blank results the file it replaces had (they now score 0)."""

    code = "results-blanked"
    template_th = "ไฟล์นี้เว้นว่างผลของตัวชี้วัด {kpis} ซึ่งไฟล์ {older} ที่ถูกแทนที่มีผลไว้ ตัวชี้วัดเหล่านี้จึงได้คะแนน 0"
    template_en = (
        "This file leaves blank the results of {kpis}, which {older} (the file it replaces) had; they score 0"
    )
    fix_th = "ถ้าไม่ได้ตั้งใจ ให้กรอกผลของตัวชี้วัดเหล่านี้แล้วส่งไฟล์อีกครั้ง"
    fix_en = "If that was not intended, type those results and resubmit the file."


class Superseded(Warning_):
    code = "superseded"
    template_th = "ไฟล์นี้ถูกแทนที่ด้วย {newer} ซึ่งส่งทีหลังสำหรับ {division} ปี {fiscal_year} รอบ {round}"
    template_en = "Superseded by {newer}, submitted later for {division}, {fiscal_year} round {round}"


class DivisionUnknown(Warning_):
    """The division's name is not in the division registry (``[divisions] registry``)."""

    code = "division-unknown"
    template_th = "ไม่พบหน่วยงาน {division!r} ในทะเบียนหน่วยงาน ({registry})"
    template_en = "The division {division!r} is not in the division registry ({registry})"
    fix_th = "แก้ชื่อหน่วยงานให้ตรงกับทะเบียน หรือขอให้ผู้ดูแลเพิ่มชื่อนี้เป็นชื่ออื่น (aliases) ของหน่วยงาน"
    fix_en = "Type the division's name as the registry has it, or ask for this name to be added as an alias."


class DivisionUnknownRejected(Problem):
    """``DivisionUnknown`` with ``strict_divisions = true``: the file is not accepted."""

    code = "division-unknown-rejected"
    template_th = DivisionUnknown.template_th + " จึงไม่รับไฟล์นี้ (strict_divisions)"
    template_en = DivisionUnknown.template_en + "; the file is not accepted (strict_divisions)"
    fix_th = DivisionUnknown.fix_th
    fix_en = DivisionUnknown.fix_en


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]
