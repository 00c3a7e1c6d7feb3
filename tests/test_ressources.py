"""Ressources de la communauté de pratiques (issue 16, partie 1) vérifiées dans la couche de données : matrice des
droits (public, financeur, référent de la commune, référent d'une autre commune, syndicat), fichiers fautifs refusés
en français sans rien écrire, fichier et ligne écrits tout ou rien, recherche sans accents ni casse, notifications
des thèmes suivis dans la transaction, partage entre les territoires d'une instance."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from test_droits import EMAILS, NOMS, A, B, operation

from donnees.comptes import VISITEUR, lire_compte
from donnees.config import NOM_BASE_SQLITE
from donnees.droits import ErreurDroits, MagasinProtege
from donnees.erreurs import ErreurDonnees
from donnees.fichiers_ressources import (
    SOUS_DOSSIER_RESSOURCES,
    assainir_nom_fichier,
    controler_fichier,
    lire_genres_ressource,
    lire_parametres_ressources,
    lire_themes_ressource,
    resoudre_fichier,
    verifier_url,
)
from donnees.magasin import Magasin
from donnees.magasin.tables import table_notification, table_ressource, table_ressource_operation
from services.ressources import lire_fichier_partage, lire_ressources_partagees, rechercher_ressources

ROLES = ["visiteur", "financeur", "referent_A", "referent_B", "administrateur"]
CONNECTES = set(ROLES) - {"visiteur"}
ECRIVAINS = {"referent_A", "referent_B", "administrateur"}
HOSTILE = "<script>alert('x')</script> **gras** [lien](javascript:alert(1))"
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def docx() -> bytes:
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return tampon.getvalue()


def odt(mime: str = "application/vnd.oasis.opendocument.text") -> bytes:
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w") as archive:
        archive.writestr("mimetype", mime)
        archive.writestr("content.xml", "<office:document-content/>")
    return tampon.getvalue()


def lien(**autres) -> dict:
    saisie = {"genre": "guide", "titre": "Guide de la désimperméabilisation", "resume": "Méthode et exemples.",
              "url": "https://www.eaurmc.fr/guide", "themes": ["sols_materiaux_permeables"], "communes": [A]}
    saisie.update(autres)
    return saisie


@pytest.fixture
def monde(magasin, tmp_path):
    """Comptes des quatre rôles, opérations (validée et non validée à Sète, validée à Mèze), dossier de données."""
    if magasin.est_postgresql:
        with magasin.moteur.begin() as conn:
            conn.exec_driver_sql("TRUNCATE notification, suivi_theme, ressource_operation, ressource "
                                 "RESTART IDENTITY CASCADE")
    magasin.creer_utilisateur(EMAILS["administrateur"], "Alice Admin", "administrateur", [], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["financeur"], "Farid Financeur", "financeur", [], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["referent_A"], "Camille Sète", "referent", [A], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["referent_B"], "Dominique Mèze", "referent", [B], None, auteur="test")
    dossier = tmp_path / "donnees"
    dossier.mkdir()
    return {"a_val": magasin.creer_operation(operation(A, "validee"), "test"),
            "a_nv": magasin.creer_operation(operation(A), "test"),
            "b_val": magasin.creer_operation(operation(B, "validee"), "test"),
            "dossier": dossier}


class Protege(MagasinProtege):
    """Façade dont le dossier de données est celui du test."""

    def __init__(self, magasin, utilisateur, dossier):
        super().__init__(magasin, utilisateur, noms_communes=NOMS)
        self._dossier = dossier

    @property
    def dossier_photos(self):
        return self._dossier


def protege(magasin, role: str, dossier=None) -> MagasinProtege:
    utilisateur = VISITEUR if role == "visiteur" else lire_compte(magasin, EMAILS[role])
    return Protege(magasin, utilisateur, dossier)


def etat(magasin, dossier) -> tuple:
    """Lignes des ressources, des liens et des notifications, journal, fichiers du dossier des ressources."""
    with magasin.moteur.connect() as conn:
        comptes = tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                        for t in (table_ressource, table_ressource_operation, table_notification))
    fichiers = sorted(p.name for p in (dossier / SOUS_DOSSIER_RESSOURCES).glob("*")) \
        if (dossier / SOUS_DOSSIER_RESSOURCES).is_dir() else []
    return comptes, len(magasin.lire_journal()), fichiers


# ------------------------------------------------------------------------------------------ nomenclatures


def test_nomenclatures_et_parametres():
    genres, themes = lire_genres_ressource(), lire_themes_ressource()
    assert {"guide", "cahier_des_charges", "fiche_procede", "fiche_materiau", "appel_a_projets", "subvention",
            "etude"} <= set(genres)
    assert genres["appel_a_projets"]["echeance"] and genres["subvention"]["echeance"]
    assert not genres["guide"]["echeance"]
    assert {"cours_ecole", "parkings", "noues_jardins_pluie", "sols_materiaux_permeables", "vegetalisation",
            "eaux_pluviales", "financement", "reglementation_sdage", "concertation"} <= set(themes)
    parametres = lire_parametres_ressources()
    assert parametres["taille_max_octets"] == 20 * 2**20 and parametres["delai_echeance_proche_jours"] == 45
    assert all(parametres["justification"][cle] for cle in ("taille_max_octets", "types"))


# ------------------------------------------------------------------------------------------ fichiers


@pytest.mark.parametrize("octets, nom, mime", [
    (PDF, "guide.pdf", "application/pdf"),
    (PNG, "Schéma.PNG", "image/png"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "photo.jpeg", "image/jpeg"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "vue.webp", "image/webp"),
    (docx(), "ccTP.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (odt(), "note.odt", "application/vnd.oasis.opendocument.text"),
    ("commune;surface\nSète;1200\n".encode(), "surfaces.csv", "text/csv"),
])
def test_fichiers_acceptes(octets, nom, mime):
    fichier = controler_fichier(octets, nom)
    assert fichier.mime == mime and fichier.taille == len(octets)
    assert fichier.chemin == f"ressources/{fichier.empreinte}{fichier.extension}"


@pytest.mark.parametrize("octets, nom, attendu", [
    (b"<html><script>alert(1)</script></html>", "guide.pdf", "page web, une image SVG ou un programme"),
    (b"\n  <!DOCTYPE html><html></html>", "rapport.pdf", "page web"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "schema.png", "page web, une image SVG"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "schema.svg", "type « .svg » refusé"),
    (b"<html></html>", "page.html", "type « .html » refusé"),
    (b"MZ\x90\x00", "outil.exe", "type « .exe » refusé"),
    (b"MZ\x90\x00", "outil.pdf", "programme"),
    (b"texte quelconque", "note.pdf", "le contenu n'est pas un fichier PDF"),
    (docx(), "tableur.xlsx", "le contenu n'est pas un fichier classeur Excel"),
    (odt("application/vnd.oasis.opendocument.spreadsheet"), "note.odt", "texte OpenDocument"),
    (b"nom\n<script>alert(1)</script>\n", "liste.csv", "tableau CSV"),
    (b"\xff\xfe\x00a", "liste.txt", "texte brut"),
    (b"", "vide.pdf", "fichier vide"),
    (PDF, "sans_extension", "sans extension"),
])
def test_fichiers_refuses_en_francais(octets, nom, attendu):
    with pytest.raises(ErreurDonnees) as erreur:
        controler_fichier(octets, nom)
    assert attendu in str(erreur.value) and "Fichier «" in str(erreur.value)


def test_fichier_trop_gros_refuse():
    maximum = lire_parametres_ressources()["taille_max_octets"]
    with pytest.raises(ErreurDonnees, match="plus que le maximum de 20\u202fMo"):
        controler_fichier(PDF + b"0" * maximum, "énorme.pdf")


def test_nom_de_fichier_hostile_assaini_et_jamais_un_chemin():
    assert assainir_nom_fichier("../../etc/passwd.pdf") == "passwd.pdf"
    assert assainir_nom_fichier("C:\\Users\\x\\rapport.pdf") == "rapport.pdf"
    assert assainir_nom_fichier("<script>alert(1)</script>.pdf") == "script>.pdf"  # dernier composant après « / »
    assert assainir_nom_fichier("a\x00b\u202e\x1b[31m.pdf") == "ab[31m.pdf"
    assert assainir_nom_fichier("x" * 400 + ".pdf").endswith(".pdf")
    assert len(assainir_nom_fichier("x" * 400 + ".pdf")) == lire_parametres_ressources()["longueur_max_nom_fichier"]
    fichier = controler_fichier(PDF, "<img src=x onerror=alert(1)>.pdf")
    assert fichier.nom == "<img src=x onerror=alert(1)>.pdf" and "<" not in fichier.chemin


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>", "file:///etc/passwd",
                                 "ftp://exemple.fr/x", "https://", "https://exemple.fr/a b", "//exemple.fr"])
def test_adresses_refusees(url):
    with pytest.raises(ErreurDonnees, match="http"):
        verifier_url(url)


# ------------------------------------------------------------------------------------------ magasin


def test_ressource_fichier_stockee_avec_les_donnees_et_relue(magasin, monde):
    dossier = monde["dossier"]
    referent = protege(magasin, "referent_A", dossier)
    ident = referent.creer_ressource(lien(url=None, titre=HOSTILE), (PDF, "<script>x</script>.pdf"))
    ressource = magasin.lire_ressource(ident)
    assert ressource["titre"] == HOSTILE  # gardé tel quel, échappé à l'affichage
    assert ressource["fichier_type"] == "application/pdf" and ressource["fichier_taille"] == len(PDF)
    assert resoudre_fichier(ressource["fichier_chemin"], dossier).read_bytes() == PDF
    assert protege(magasin, "visiteur", dossier).lire_fichier_ressource(ident) == PDF
    journal = magasin.lire_journal()
    assert journal.iloc[-1]["table_cible"] == "ressource" and journal.iloc[-1]["auteur"] == EMAILS["referent_A"]


@pytest.mark.parametrize("saisie, fichier, attendu", [
    (lien(url=None), (b"<html><body>x</body></html>", "piege.pdf"), "page web"),
    (lien(url=None), (b'<svg onload="alert(1)"/>', "image.svg"), "refusé"),
    (lien(), (PDF, "guide.pdf"), "pas les deux"),
    (lien(url=None), None, "ni fichier ni adresse"),
    (lien(url="javascript:alert(1)"), None, "http"),
    (lien(genre="appel_a_projets"), None, "échéance"),
    (lien(genre="inconnu"), None, "genre"),
    (lien(themes=["theme_invente"]), None, "thèmes"),
    (lien(communes=["99999"]), None, "pas une commune du territoire"),
    (lien(titre="  "), None, "texte vide"),
    (lien(titre="x" * 201), None, "au plus 200"),
    (lien(echeance="31/12/2027"), None, "n'est pas une date"),
])
def test_saisie_fautive_refusee_sans_rien_ecrire(magasin, monde, saisie, fichier, attendu):
    dossier = monde["dossier"]
    avant = etat(magasin, dossier)
    with pytest.raises(ErreurDonnees, match=attendu):
        protege(magasin, "referent_A", dossier).creer_ressource(saisie, fichier)
    assert etat(magasin, dossier) == avant


def test_fichier_retire_si_la_base_refuse(magasin, monde, monkeypatch):
    """Tout ou rien : une panne pendant l'écriture en base retire le fichier neuf."""
    dossier = monde["dossier"]
    avant = etat(magasin, dossier)

    def panne(*_):
        raise ErreurDonnees("panne simulée", "journal")

    monkeypatch.setattr(Magasin, "_inserer_journal", panne)
    with pytest.raises(ErreurDonnees, match="panne simulée"):
        protege(magasin, "referent_A", dossier).creer_ressource(lien(url=None), (PDF, "guide.pdf"))
    assert etat(magasin, dossier) == avant


def test_modifier_remplacer_le_fichier_et_verrou(magasin, monde):
    dossier = monde["dossier"]
    referent = protege(magasin, "referent_A", dossier)
    ident = referent.creer_ressource(lien(url=None), (PDF, "v1.pdf"))
    ancien = magasin.lire_ressource(ident)["fichier_chemin"]
    version = referent.modifier_ressource(ident, {"titre": "Guide révisé"}, 1, (PNG, "schema.png"))
    ressource = magasin.lire_ressource(ident)
    assert version == 2 and ressource["titre"] == "Guide révisé" and ressource["fichier_type"] == "image/png"
    assert resoudre_fichier(ancien, dossier) is None  # plus utilisé : retiré
    with pytest.raises(ErreurDonnees, match="modifiée depuis que vous l'avez ouverte"):
        referent.modifier_ressource(ident, {"titre": "Autre"}, 1)
    referent.modifier_ressource(ident, {"url": "https://exemple.fr/page"}, 2)  # un lien remplace le fichier
    ressource = magasin.lire_ressource(ident)
    assert ressource["url"] == "https://exemple.fr/page" and ressource["fichier_chemin"] is None
    assert not list((dossier / SOUS_DOSSIER_RESSOURCES).glob("*.png"))
    referent.supprimer_ressource(ident)
    with pytest.raises(ErreurDonnees, match="introuvable"):
        magasin.lire_ressource(ident)


def test_recherche_sans_accents_ni_casse_et_filtres(magasin, monde):
    admin = protege(magasin, "administrateur", monde["dossier"])
    admin.creer_ressource(lien(titre="Cours OASIS : retour d'expérience", themes=["cours_ecole"], communes=[A]))
    admin.creer_ressource(lien(titre="Pavés drainants", resume="Matériaux pour parkings", themes=["parkings"],
                               communes=[B]))
    admin.creer_ressource(lien(url=None, titre="Note", themes=["eaux_pluviales"]), (PDF, "Étude_Végétalisation.pdf"))
    echeance = date.today() + timedelta(days=10)
    admin.creer_ressource(lien(genre="appel_a_projets", titre="Appel à projets « Eau et climat »",
                               echeance=echeance, themes=["financement"], communes=[]))
    table = admin.lire_ressources()
    titres = lambda t: sorted(t["titre"])  # noqa: E731
    assert titres(rechercher_ressources(table, "experience oasis")) == ["Cours OASIS : retour d'expérience"]
    assert titres(rechercher_ressources(table, "MATÉRIAUX")) == ["Pavés drainants"]
    assert titres(rechercher_ressources(table, "etude vegetalisation")) == ["Note"]  # nom du fichier
    assert titres(rechercher_ressources(table, "cours d'ecole")) == ["Cours OASIS : retour d'expérience"]  # thème
    assert titres(rechercher_ressources(table, theme="parkings")) == ["Pavés drainants"]
    assert titres(rechercher_ressources(table, commune=B)) == ["Pavés drainants"]
    assert titres(rechercher_ressources(table, genre="appel_a_projets", echeance_a_venir=True)) == [
        "Appel à projets « Eau et climat »"]
    assert rechercher_ressources(table, "introuvable").empty
    proches = admin.lire_echeances_proches()
    assert proches["titre"].tolist() == ["Appel à projets « Eau et climat »"]
    assert protege(magasin, "financeur").lire_echeances_proches()["titre"].tolist() == proches["titre"].tolist()
    assert admin.lire_echeances_proches(date.today() - timedelta(days=60)).empty  # trop loin


def test_notifications_des_themes_suivis(magasin, monde):
    dossier = monde["dossier"]
    for role in ("financeur", "referent_B", "referent_A"):
        assert protege(magasin, role).suivre_theme("parkings")
    assert not protege(magasin, "financeur").suivre_theme("parkings")  # déjà suivi
    protege(magasin, "referent_B").suivre_theme("cours_ecole")
    with pytest.raises(ErreurDroits):
        protege(magasin, "visiteur").suivre_theme("parkings")
    with pytest.raises(ErreurDonnees, match="inconnu"):
        protege(magasin, "financeur").suivre_theme("<b>x</b>")
    magasin.creer_utilisateur("ancien@sete.fr", "Ancien", "referent", [A], None, auteur="test")
    magasin.suivre_theme("ancien@sete.fr", "parkings")
    magasin.modifier_utilisateur("ancien@sete.fr", {"actif": False}, "test")  # désactivé : plus notifié
    ident = protege(magasin, "referent_A", dossier).creer_ressource(
        lien(titre=HOSTILE, themes=["parkings", "cours_ecole"]))
    recus = {role: magasin.lire_notifications(EMAILS[role]) for role in ("financeur", "referent_A", "referent_B")}
    assert recus["referent_A"].empty  # l'auteur ne reçoit pas la sienne
    assert recus["financeur"]["genre"].tolist() == ["nouvelle_ressource"]
    assert recus["financeur"]["lien"].tolist() == [f"/ressources?id={ident}"]
    assert "Parkings" in recus["financeur"]["texte"].iloc[0]
    assert len(recus["referent_B"]) == 1  # une seule, même pour deux thèmes suivis
    assert magasin.lire_notifications("ancien@sete.fr").empty
    assert protege(magasin, "financeur").ne_plus_suivre_theme("parkings")
    protege(magasin, "referent_A").creer_ressource(lien(titre="Autre", themes=["parkings"]))
    assert len(magasin.lire_notifications(EMAILS["financeur"])) == 1


# ------------------------------------------------------------------------------------------ matrice des droits


def _creer(p, o):
    return p.creer_ressource(lien(titre="Dépôt"))


def _creer_ailleurs(p, o):
    return p.creer_ressource(lien(titre="Pour Mèze", communes=[B]))  # « any resource » : toute commune


MATRICE = {
    "lire_publiees": (lambda p, o: p.lire_ressource(o["ressource"]), set(ROLES)),
    "lire_masquee": (lambda p, o: p.lire_ressource(o["masquee"]), {"referent_A", "administrateur"}),  # auteur
    "echeances_proches": (lambda p, o: p.lire_echeances_proches(), CONNECTES),
    "creer": (_creer, ECRIVAINS),
    "creer_autre_commune": (_creer_ailleurs, ECRIVAINS),
    "modifier_la_sienne_ou_syndicat": (lambda p, o: p.modifier_ressource(o["ressource"], {"titre": "Nouveau"},
                                                                         o["version"]),
                                       {"referent_A", "administrateur"}),
    "supprimer": (lambda p, o: p.supprimer_ressource(o["ressource"]), {"referent_A", "administrateur"}),
    "lier_operation_validee": (lambda p, o: p.lier_ressource(o["ressource"], o["b_val"]), ECRIVAINS),
    "lier_operation_non_validee_de_A": (lambda p, o: p.lier_ressource(o["ressource"], o["a_nv"]),
                                        {"referent_A", "administrateur"}),
    "masquer": (lambda p, o: p.masquer_ressource(o["ressource"], "Hors sujet"), {"administrateur"}),
    "restaurer": (lambda p, o: p.restaurer_ressource(o["masquee"]), {"administrateur"}),
    "suivre_theme": (lambda p, o: p.suivre_theme("parkings"), CONNECTES),
    "operations_de_la_ressource": (lambda p, o: p.lire_operations_ressource(o["ressource"]), set(ROLES)),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(MATRICE))
def test_matrice_des_droits(magasin, monde, role, action):
    dossier = monde["dossier"]
    auteur = protege(magasin, "referent_A", dossier)
    monde["ressource"] = auteur.creer_ressource(lien())
    monde["version"] = 1
    monde["masquee"] = auteur.creer_ressource(lien(titre="À masquer"))
    protege(magasin, "administrateur").masquer_ressource(monde["masquee"], "Doublon")
    appel, permis = MATRICE[action]
    p = protege(magasin, role, dossier)
    if role in permis:
        appel(p, monde)
    else:
        avant = etat(magasin, dossier)
        with pytest.raises(ErreurDroits) as refus:
            appel(p, monde)
        assert str(refus.value)  # message français
        assert etat(magasin, dossier) == avant


def test_lectures_selon_le_role(magasin, monde):
    dossier = monde["dossier"]
    auteur = protege(magasin, "referent_A", dossier)
    publiee = auteur.creer_ressource(lien())
    masquee = auteur.creer_ressource(lien(titre="Masquée"))
    protege(magasin, "administrateur").masquer_ressource(masquee, "Doublon")
    for role, ids in {"visiteur": {publiee}, "financeur": {publiee}, "referent_A": {publiee, masquee},
                      "referent_B": {publiee}, "administrateur": {publiee, masquee}}.items():
        table = protege(magasin, role).lire_ressources()
        assert set(table["id"]) == ids, role
        assert ("auteur_email" in table.columns) == (role != "visiteur")  # public : pas d'adresse
    assert "auteur_email" not in protege(magasin, "visiteur").lire_ressource(publiee)
    # Opérations liées : seulement celles que le lecteur peut lire.
    auteur.lier_ressource(publiee, monde["a_nv"])
    auteur.lier_ressource(publiee, monde["a_val"])
    assert protege(magasin, "visiteur").lire_operations_ressource(publiee)["id"].tolist() == [monde["a_val"]]
    assert sorted(protege(magasin, "referent_A").lire_operations_ressource(publiee)["id"]) == sorted(
        [monde["a_val"], monde["a_nv"]])
    assert protege(magasin, "visiteur").lire_ressources_operation(monde["a_val"])["id"].tolist() == [publiee]
    with pytest.raises(ErreurDroits):
        protege(magasin, "referent_B").lire_ressources_operation(monde["a_nv"])
    # Retirer un lien : pas un référent d'une autre commune qui ne l'a pas posé.
    with pytest.raises(ErreurDroits):
        protege(magasin, "referent_B").delier_ressource(publiee, monde["a_val"])
    assert protege(magasin, "administrateur").delier_ressource(publiee, monde["a_val"])
    # Modération journalisée avec son motif.
    journal = magasin.lire_journal()
    masquage = journal[journal["table_cible"].eq("ressource") & journal["enregistrement_id"].eq(masquee)]
    assert masquage.iloc[-1]["diff"]["motif_masquage"] == [None, "Doublon"]


# ------------------------------------------------------------------------------------------ territoires


def test_partage_entre_territoires(tmp_path):
    """Une ressource partagée du territoire B est lue depuis A (publiée seulement), avec les droits du lecteur
    dans B (public : sans adresse de l'auteur) ; une non partagée reste dans B."""
    from donnees.instance import TerritoireInstance

    territoires = []
    for code in ("a", "b"):
        dossier = tmp_path / code
        dossier.mkdir()
        territoires.append(TerritoireInstance(code, f"Territoire {code.upper()}", dossier))
    magasin_b = Magasin(f"sqlite:///{(tmp_path / 'b' / NOM_BASE_SQLITE).as_posix()}")
    try:
        magasin_b.creer_tables()
        magasin_b.creer_ressource(lien(titre="Partagée", partagee_territoires=True), "x@b.fr", "X")
        locale = magasin_b.creer_ressource(lien(url=None, titre="Locale"), "x@b.fr", "X", (PDF, "l.pdf"),
                                           tmp_path / "b")
        fichier = magasin_b.creer_ressource(lien(url=None, titre="Fichier partagé", partagee_territoires=True),
                                            "x@b.fr", "X", (PNG, "plan.png"), tmp_path / "b")
        masquee = magasin_b.creer_ressource(lien(titre="Partagée masquée", partagee_territoires=True), "x@b.fr", "X")
        magasin_b.masquer_ressource(masquee, "Doublon", "admin@b.fr")
    finally:
        magasin_b.fermer()
    table, erreurs = lire_ressources_partagees(territoires, "a", lambda t: VISITEUR)
    assert not erreurs
    assert sorted(table["titre"]) == ["Fichier partagé", "Partagée"]
    assert set(table["territoire_nom"]) == {"Territoire B"}
    assert "auteur_email" not in table.columns
    assert lire_fichier_partage(territoires[1], VISITEUR, fichier) == PNG
    with pytest.raises(ErreurDonnees, match="n'est pas partagée"):
        lire_fichier_partage(territoires[1], VISITEUR, locale)
    vide, _ = lire_ressources_partagees(territoires, "b", lambda t: VISITEUR)  # rien d'autre que B lui-même
    assert vide.empty


# ------------------------------------------------------------------------------------------ ligne de commande


def test_cli_ressources_lister(tmp_path, capsys):
    import cli

    magasin = Magasin(f"sqlite:///{(tmp_path / NOM_BASE_SQLITE).as_posix()}")
    try:
        magasin.creer_tables()
        magasin.creer_ressource(lien(genre="appel_a_projets", titre="Appel Écoles", echeance="2027-01-31"), "a@b.fr",
                                "A")
        masquee = magasin.creer_ressource(lien(titre="Écoles masquée"), "a@b.fr", "A")
        magasin.masquer_ressource(masquee, "Doublon", "admin@b.fr")
    finally:
        magasin.fermer()
    assert cli.main(["ressources", "lister", "--dossier", str(tmp_path), "--recherche", "ECOLES"]) == 0
    sortie = capsys.readouterr().out
    assert "1 ressource(s) publiée(s)" in sortie and "Appel Écoles · échéance 31/01/2027" in sortie
    assert "masquée" not in sortie and "a@b.fr" not in sortie
    assert cli.main(["ressources", "lister", "--dossier", str(tmp_path), "--theme", "parkings"]) == 0
    assert "Aucune ressource publiée" in capsys.readouterr().out


def test_verification_des_fichiers_de_ressources(magasin, monde):
    from donnees.verification import verifier_fichiers_ressources

    dossier = monde["dossier"]
    assert verifier_fichiers_ressources(magasin, dossier) == []
    ident = protege(magasin, "referent_A", dossier).creer_ressource(lien(url=None), (PDF, "guide.pdf"))
    constat, = verifier_fichiers_ressources(magasin, dossier)
    assert constat.niveau == "ok" and "1 avec fichier" in constat.message
    resoudre_fichier(magasin.lire_ressource(ident)["fichier_chemin"], dossier).write_bytes(PDF + b"altere")
    constat, = verifier_fichiers_ressources(magasin, dossier)
    assert constat.niveau == "erreur" and "altérés" in constat.message
    with pytest.raises(ErreurDonnees, match="absent ou altéré"):
        protege(magasin, "visiteur", dossier).lire_fichier_ressource(ident)
