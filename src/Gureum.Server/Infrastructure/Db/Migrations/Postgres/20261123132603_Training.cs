using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Gureum.Server.Infrastructure.Db.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Training : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "training_jobs",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(26)", maxLength: 26, nullable: false),
                    ProjectId = table.Column<string>(type: "character varying(26)", nullable: false),
                    DatasetId = table.Column<string>(type: "text", nullable: false),
                    DatasetVersionId = table.Column<string>(type: "text", nullable: false),
                    VersionNumber = table.Column<int>(type: "integer", nullable: false),
                    TestVersionId = table.Column<string>(type: "text", nullable: true),
                    TestVersionNumber = table.Column<int>(type: "integer", nullable: true),
                    Target = table.Column<string>(type: "text", nullable: false),
                    Task = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Metric = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    BudgetSeconds = table.Column<int>(type: "integer", nullable: false),
                    Seed = table.Column<int>(type: "integer", nullable: false),
                    Request = table.Column<string>(type: "text", nullable: false),
                    Report = table.Column<string>(type: "text", nullable: true),
                    ModelSha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    ModelSizeBytes = table.Column<long>(type: "bigint", nullable: true),
                    BestTrainer = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    TestScore = table.Column<double>(type: "double precision", nullable: true),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_training_jobs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_training_jobs_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "training_trials",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    TrainingJobId = table.Column<string>(type: "character varying(26)", nullable: false),
                    ProjectId = table.Column<string>(type: "text", nullable: false),
                    Number = table.Column<int>(type: "integer", nullable: false),
                    Attempt = table.Column<int>(type: "integer", nullable: false),
                    Trainer = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Stage = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Hyperparameters = table.Column<string>(type: "text", nullable: false),
                    Metrics = table.Column<string>(type: "text", nullable: false),
                    Score = table.Column<double>(type: "double precision", nullable: true),
                    DurationSeconds = table.Column<double>(type: "double precision", nullable: false),
                    Status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Error = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    FinishedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_training_trials", x => x.Id);
                    table.ForeignKey(
                        name: "FK_training_trials_training_jobs_TrainingJobId",
                        column: x => x.TrainingJobId,
                        principalTable: "training_jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_training_jobs_DatasetVersionId",
                table: "training_jobs",
                column: "DatasetVersionId");

            migrationBuilder.CreateIndex(
                name: "IX_training_jobs_ModelSha256",
                table: "training_jobs",
                column: "ModelSha256");

            migrationBuilder.CreateIndex(
                name: "IX_training_jobs_ProjectId_Id",
                table: "training_jobs",
                columns: new[] { "ProjectId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_training_trials_TrainingJobId_Number",
                table: "training_trials",
                columns: new[] { "TrainingJobId", "Number" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "training_trials");

            migrationBuilder.DropTable(
                name: "training_jobs");
        }
    }
}
